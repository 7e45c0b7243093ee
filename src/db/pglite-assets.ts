// PGlite reads these files beside its own module at run time, which a compiled binary does not
// have; imported as files, they are embedded in the binary and handed to PGlite explicitly.
import pgliteWasm from '../../node_modules/@electric-sql/pglite/dist/pglite.wasm' with { type: 'file' }
import initdbWasm from '../../node_modules/@electric-sql/pglite/dist/initdb.wasm' with { type: 'file' }
import fsBundle from '../../node_modules/@electric-sql/pglite/dist/pglite.data' with { type: 'file' }

const compile = async (path: string) => WebAssembly.compile(await Bun.file(path).arrayBuffer())

const load = async () => {
  const [pgliteWasmModule, initdbWasmModule] = await Promise.all([compile(pgliteWasm), compile(initdbWasm)])
  return { pgliteWasmModule, initdbWasmModule, fsBundle: Bun.file(fsBundle) }
}
let loading: ReturnType<typeof load> | undefined

/**
 * The options that make PGlite load its WebAssembly and file system from the embedded files.
 * Compiled once per process (a compiled module serves every PGlite instance); calling it early
 * starts the compilation while other things load.
 */
export const pgliteAssets = () => (loading ??= load())
