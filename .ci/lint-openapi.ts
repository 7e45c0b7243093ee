#!/usr/bin/env bun
/**
 * `bun run lint:openapi`: checks the document the app serves at /openapi.json. First
 * `@apidevtools/swagger-parser` validates it as OpenAPI 3; then Spectral lints it with the committed
 * `.spectral.yaml` (Spectral's OpenAPI rules and the OWASP ruleset), failing on any warning or error.
 * The document is written to `openapi.lint.json` beside the ruleset, whose `overrides` name it.
 */
import SwaggerParser from '@apidevtools/swagger-parser'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { openApiDocument } from './openapi-document'

const root = join(import.meta.dir, '..')
const file = join(root, 'openapi.lint.json')

const document = await openApiDocument()
try {
  // validate() dereferences what it is given, so it gets a copy.
  await SwaggerParser.validate(structuredClone(document))
  console.log(`swagger-parser: a valid OpenAPI ${document.openapi} document`)
} catch (error) {
  console.error(`swagger-parser: ${error instanceof Error ? error.message : error}`)
  process.exit(1)
}

await Bun.write(file, JSON.stringify(document, null, 2))
try {
  const spectral = join(root, 'node_modules/.bin/spectral')
  const lint = Bun.spawn(['bun', '--bun', spectral, 'lint', '--ruleset', '.spectral.yaml', '--fail-severity', 'warn', 'openapi.lint.json'], {
    cwd: root,
    stdout: 'inherit',
    stderr: 'inherit',
  })
  process.exitCode = await lint.exited
} finally {
  rmSync(file, { force: true })
}
