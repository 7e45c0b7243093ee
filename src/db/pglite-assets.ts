// PGlite reads these files beside its own module at run time, which a compiled binary does not
// have; imported as files, they are embedded in the binary and handed to PGlite explicitly.
import { pathToFileURL } from 'node:url'
import pgliteWasm from '../../node_modules/@electric-sql/pglite/dist/pglite.wasm' with { type: 'file' }
import initdbWasm from '../../node_modules/@electric-sql/pglite/dist/initdb.wasm' with { type: 'file' }
import fsBundle from '../../node_modules/@electric-sql/pglite/dist/pglite.data' with { type: 'file' }
// pg_trgm (migration 0004's name index): PGlite's own `contrib/pg_trgm` points at its bundle
// beside that module; a URL of the embedded copy works in the binary as well.
import pgTrgmBundle from '../../node_modules/@electric-sql/pglite/dist/pg_trgm.tar.gz' with { type: 'file' }

const compile = async (path: string) => WebAssembly.compile(await Bun.file(path).arrayBuffer())

const load = async () => {
  const [pgliteWasmModule, initdbWasmModule] = await Promise.all([compile(pgliteWasm), compile(initdbWasm)])
  return { pgliteWasmModule, initdbWasmModule, fsBundle: Bun.file(fsBundle), extensions: { pg_trgm: pathToFileURL(pgTrgmBundle) } }
}
let loading: ReturnType<typeof load> | undefined

/**
 * The options that make PGlite load its WebAssembly, file system and extensions from the embedded
 * files. Compiled once per process (a compiled module serves every PGlite instance); calling it
 * early starts the compilation while other things load.
 */
export const pgliteAssets = () => (loading ??= load())
