// PGlite reads these files beside its own module at run time, which a compiled binary does not
// have; imported as files, they are embedded in the binary and handed to PGlite explicitly.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import pgliteWasm from '../../node_modules/@electric-sql/pglite/dist/pglite.wasm' with { type: 'file' }
import initdbWasm from '../../node_modules/@electric-sql/pglite/dist/initdb.wasm' with { type: 'file' }
import fsBundle from '../../node_modules/@electric-sql/pglite/dist/pglite.data' with { type: 'file' }
// pg_trgm, for migration 0004's name index: PGlite's own `contrib/pg_trgm` points at the bundle
// beside that module, which the binary does not have either.
import pgTrgmBundle from '../../node_modules/@electric-sql/pglite/dist/pg_trgm.tar.gz' with { type: 'file' }

const compile = async (path: string) => WebAssembly.compile(await Bun.file(path).arrayBuffer())

/**
 * An extension bundle as PGlite takes it, a file URL. PGlite streams it with node:fs, which
 * cannot open a file embedded in the binary (ENOENT, though reading it whole works): there, it
 * is copied to a private temporary directory, removed when the process exits.
 */
const extensionUrl = (path: string) => {
  if (!path.startsWith('/$bunfs/')) return pathToFileURL(path)
  const dir = mkdtempSync(join(tmpdir(), 'users-api-pglite-'))
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  const copy = join(dir, basename(path))
  writeFileSync(copy, readFileSync(path))
  return pathToFileURL(copy)
}

const load = async () => {
  const [pgliteWasmModule, initdbWasmModule] = await Promise.all([compile(pgliteWasm), compile(initdbWasm)])
  return { pgliteWasmModule, initdbWasmModule, fsBundle: Bun.file(fsBundle), extensions: { pg_trgm: extensionUrl(pgTrgmBundle) } }
}
let loading: ReturnType<typeof load> | undefined

/**
 * The options that make PGlite load its WebAssembly, file system and extensions from the embedded
 * files. Compiled once per process (a compiled module serves every PGlite instance); calling it
 * early starts the compilation while other things load.
 */
export const pgliteAssets = () => (loading ??= load())
