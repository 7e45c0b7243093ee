/**
 * The reloader's fallback once Bun's loader holds a module that failed to evaluate: `src/` bundled
 * into a new file (packages left as imports, so they are not evaluated again), then imported.
 */
import { rm } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { errorText } from './error-text'

/** Why a save did not build: one message per problem. */
export interface Failure {
  failed: string[]
}

/**
 * Files imported `with { type: 'file' }` (PGlite's WebAssembly and extensions, the template, the
 * docs page's script: 20 MB) stay where they are instead of being copied next to each bundle.
 */
const filesInPlace: Bun.BunPlugin = {
  name: 'files-in-place',
  setup(builder) {
    builder.onResolve({ filter: /\.(wasm|data|tgz|tar\.gz)$|standalone\.js$/ }, (args) => ({ path: resolve(dirname(args.importer), args.path), external: true }))
  },
}

/** `entry` bundled into `outDir/name` and imported (the file is removed once loaded), or why it did not build. */
export const importBundled = async <M>(entry: string, outDir: string, name: string): Promise<M | Failure> => {
  const result = await Bun.build({
    entrypoints: [entry],
    outdir: outDir,
    naming: name,
    target: 'bun',
    packages: 'external',
    plugins: [filesInPlace],
    // A failure's stack then names the source file and line, not the bundle's.
    sourcemap: 'inline',
    throw: false,
  })
  if (!result.success) return { failed: result.logs.map(errorText) }
  const built = result.outputs.find((output) => output.kind === 'entry-point')!.path
  try {
    return (await import(built)) as M
  } finally {
    await rm(built, { force: true })
  }
}
