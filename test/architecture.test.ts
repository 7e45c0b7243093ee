import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

// The shape of src/: imports (type-only ones too) form no cycle, the shared layers know no
// feature, and every file stays small enough to read in one sitting.
const SRC = resolve(import.meta.dir, '..', 'src')
const files = [...new Bun.Glob('**/*.ts').scanSync(SRC)].filter((file) => !file.endsWith('.d.ts')).sort()
const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g

/** The files of src/ that `file` imports, as paths relative to src/. */
const importsOf = (file: string): string[] => {
  const text = readFileSync(join(SRC, file), 'utf8')
  const found = new Set<string>()
  for (const match of text.matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2] ?? match[3]!
    if (!specifier.startsWith('.')) continue
    const target = relative(SRC, resolve(SRC, dirname(file), specifier))
    for (const candidate of [target, `${target}.ts`, `${target}/index.ts`]) if (files.includes(candidate)) found.add(candidate)
  }
  return [...found]
}
const graph = new Map(files.map((file) => [file, importsOf(file)]))

const cycles = (): string[][] => {
  const found: string[][] = []
  const state = new Map<string, 'open' | 'done'>()
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return
    if (state.get(file) === 'open') return void found.push([...path.slice(path.indexOf(file)), file])
    state.set(file, 'open')
    for (const next of graph.get(file) ?? []) visit(next, [...path, file])
    state.set(file, 'done')
  }
  for (const file of files) visit(file, [])
  return found
}

/** The packages a fresh process has loaded once it imported `entries` (files of src/). */
const packagesLoadedBy = async (entries: string[]) => {
  // In a process of its own: this one holds whatever the other tests loaded.
  const probe = `${entries.map((entry) => `await import(${JSON.stringify(join(SRC, entry))});`).join(' ')} console.log(JSON.stringify(Object.keys(require.cache)))`
  const child = Bun.spawn([process.execPath, '-e', probe], { stdout: 'pipe', stderr: 'pipe' })
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  expect({ code, err }).toEqual({ code: 0, err: '' })
  // Scalar's page script is there as a file to serve (imported `with { type: 'file' }`), not run.
  const modules = (JSON.parse(out) as string[]).filter((path) => !path.endsWith('/@scalar/api-reference/dist/browser/standalone.js'))
  return [...new Set(modules.flatMap((path) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1] ?? []))]
}

describe('the shape of src/', () => {
  test('the import graph is read (the test can see imports at all)', () => {
    expect(graph.get('app.ts')).toContain('http/errors.ts')
    expect(graph.get('app.ts')).toContain('config.ts')
  })

  test('no import cycle, type-only imports included', () => {
    expect(cycles()).toEqual([])
  })

  test('http/, db/ and schema/ import nothing from a feature module', () => {
    const shared = files.filter((file) => /^(http|db|schema)\//.test(file))
    expect(shared.length).toBeGreaterThan(10)
    expect(shared.flatMap((file) => graph.get(file)!.filter((target) => /^(users|auth)\//.test(target)).map((target) => `${file} -> ${target}`))).toEqual([])
  })

  test('main.ts loads nothing up front but package.json: --help and --version load no app code', () => {
    const text = readFileSync(join(SRC, 'main.ts'), 'utf8')
    const staticImports = [...text.matchAll(/^import\b[^'"]*['"]([^'"]+)['"]/gm)].map((match) => match[1])
    expect(staticImports).toEqual(['../package.json'])
    expect(graph.get('main.ts')).toEqual(['config.ts', 'healthcheck.ts', 'auth/cli.ts', 'logger.ts', 'db/migrate-command.ts', 'serve-command.ts'])
  })

  test('tracing costs nothing unless it is on: only a dynamic import loads it, and only it loads OpenTelemetry', () => {
    const text = (file: string) => readFileSync(join(SRC, file), 'utf8')
    const staticImport = /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g
    const staticallyImported = (file: string) => [...text(file).matchAll(staticImport)].map((match) => match[1]!)
    expect(graph.get('metrics/setup.ts')).toContain('metrics/tracing.ts')
    expect(text('metrics/setup.ts')).toContain("await import('./tracing')")
    expect(files.filter((file) => staticallyImported(file).some((specifier) => specifier.endsWith('/tracing')))).toEqual([])
    expect(files.filter((file) => staticallyImported(file).some((specifier) => specifier.startsWith('@opentelemetry/')))).toEqual(['metrics/tracing.ts'])
  })

  test('the serving code loads nothing a request does not need: no PGlite, password dictionaries, tracing SDK or Scalar', async () => {
    const packages = await packagesLoadedBy(['serve.ts'])
    // The probe sees packages at all: the framework and the driver are loaded.
    expect(packages).toContain('elysia')
    expect(packages).toContain('postgres')
    const heavy = /^(@electric-sql\/|@zxcvbn-ts\/|@opentelemetry\/(?!api$)|@scalar\/)/
    expect(packages.filter((name) => heavy.test(name))).toEqual([])
  })

  test("the workers' primary loads none of the service: no framework, no driver", async () => {
    // What `serve` and the group's metrics load (the settings and the logger are loaded before):
    // prom-client and its own dependencies (OpenTelemetry's API is its exemplars').
    expect((await packagesLoadedBy(['serve-command.ts', 'metrics/group.ts'])).sort()).toEqual(['@opentelemetry/api', 'bintrees', 'prom-client', 'tdigest'])
  })

  // app.ts grows by a line or two per plugin, and no more: what the plugins do stays in them.
  test('no file over 200 lines; app.ts, the composition root, at most 64', () => {
    const lines = (file: string) => readFileSync(join(SRC, file), 'utf8').split('\n').length
    expect(files.filter((file) => lines(file) > 200).map((file) => `${file}: ${lines(file)} lines`)).toEqual([])
    expect(lines('app.ts')).toBeLessThanOrEqual(64)
  })
})
