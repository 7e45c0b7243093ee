/**
 * The app half of `bun run dev` (session.ts starts it): loads `src/` afresh on every save and swaps
 * the running service for the new one in this same process. Only the saved files and our modules
 * that import them are evaluated again (3–12 ms); the packages and our other modules stay loaded,
 * which is what makes a reload several times faster than restarting a process. A save that does
 * not parse, or whose code throws while loading, keeps the old code running.
 * Usage: bun src/dev/reloader.ts [embedded-socket-dir]
 */
import { existsSync, readdirSync, watch } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { embeddedSocketPath } from '../db/embedded-socket'
import type { RunningService } from '../serve'
import { isAlive } from '../runtime'
import { exitWithParent } from '../workers'
import { importBundled, type Failure } from './bundle'
import { errorText } from './error-text'
import { moduleGraph } from './module-graph'

type ServiceModule = typeof import('./service')

const SOURCES = [`${resolve(import.meta.dir, '..')}/`, `${resolve(import.meta.dir, '../../migrations')}/`]
const ENTRY = join(import.meta.dir, 'service.ts')
// Inside the project, so the bundle's package imports resolve to node_modules; one per process.
const CACHE_DIR = join(import.meta.dir, '../../node_modules/.cache/users-api')
const OUT_DIR = join(CACHE_DIR, `dev-${process.pid}`)
const socketDir = process.argv[2]

let generation = 0
let running: RunningService | undefined
let reloading: Promise<void> | undefined
let pending = false
let settling: ReturnType<typeof setTimeout> | undefined
// The migrations (versions and SQL) the last successful start applied.
let migrated: string | undefined

const SETTLE_MS = 50

const report = (message: string, error?: unknown) => console.error(`dev: ${message}${error === undefined ? '' : `: ${errorText(error)}`}`)

const parser = new Bun.Transpiler({ loader: 'ts' })
// Saved since they last parsed: checked before anything is evaluated, so a save made mid-edit
// never reaches Bun's module loader, which would keep the failure (see `load`).
const unparsed = new Set<string>()

/**
 * Why `path`, as saved now, does not parse; undefined when it does (or is gone). An empty module
 * parses, but none of ours is empty: it is a save caught between truncating and writing.
 */
const parseError = async (path: string) => {
  if (!existsSync(path)) return undefined
  try {
    const source = await Bun.file(path).text()
    if (source.length === 0) return `${path.slice(SOURCES[0]!.length)}: empty`
    parser.scan(source)
    return undefined
  } catch (caught) {
    // Several at once come as one AggregateError: the first is the slip, the others follow from it.
    const error = caught instanceof AggregateError && caught.errors.length > 0 ? caught.errors[0] : caught
    // Its position names the transpiler's input (`input.ts`), not the file: the file's name is used.
    const { message, position } = error as { message?: unknown; position?: { line: number; column: number } | null }
    const file = path.slice(SOURCES[0]!.length)
    return position && typeof message === 'string' ? `${file}:${position.line}:${position.column}: ${message}` : `${file}: ${errorText(error)}`
  }
}

// The stale modules (`./module-graph`) are dropped from the module cache and the entry imported
// again, which evaluates them anew (5 ms less than a bundle of src/). A module that failed to
// evaluate stays failed in Bun's loader whatever the cache says, so after one such failure each
// reload is a bundle with a new name.
let inPlace = true
const ours = (path: string) => SOURCES.some((dir) => path.startsWith(dir))
const modules = moduleGraph(ours)

/** The service module from the files as saved now, or why they do not build. */
const load = async (): Promise<ServiceModule | Failure> => {
  generation += 1
  const failed: string[] = []
  for (const path of [...unparsed]) {
    const error = path.endsWith('.ts') ? await parseError(path) : undefined
    if (error === undefined) unparsed.delete(path)
    else failed.push(error)
  }
  if (failed.length > 0) return { failed }
  const stale = await modules.takeStale()
  if (!inPlace) return importBundled<ServiceModule>(ENTRY, OUT_DIR, `service-${generation}.js`)
  for (const path of Object.keys(require.cache)) if (ours(path) && (stale === undefined || stale.has(path))) delete require.cache[path]
  try {
    return (await import(ENTRY)) as ServiceModule
  } catch (error) {
    inPlace = false
    return { failed: [errorText(error)] }
  }
}

/** The session starts the database and this process together: the first start builds the app meanwhile, then waits for its socket. */
const databaseReady = async () => {
  while (socketDir && !existsSync(embeddedSocketPath(socketDir))) await Bun.sleep(5)
}

/**
 * Swaps in the code as saved now. A save can be read half-written (an editor truncates the file,
 * then writes it, and the write's own event may come folded into the first): what does not build
 * is read again `SETTLE_MS` later, and only reported if it still does not.
 */
const reload = async (settled = false) => {
  const next = await load().catch((error: unknown) => ({ failed: [errorText(error)] }))
  if ('failed' in next) {
    if (!settled) settling = setTimeout(() => schedule(true), SETTLE_MS)
    else for (const message of next.failed) report('build failed', message)
    return
  }
  await running?.stop('reload')
  running = undefined
  // The session's embedded database is ours alone: migrated by the last start, it stays current
  // while the migrations do (a server's is migrated after listening, off the reload's path).
  const migrations = JSON.stringify(next.migrations)
  const schemaCurrent = socketDir !== undefined && migrated === migrations
  migrated = undefined
  try {
    running = await next.start(socketDir, schemaCurrent, databaseReady())
    migrated = migrations
    // Off the next save's path: the first start's modules are read once, here.
    void modules.index().catch(() => undefined)
  } catch (error) {
    // The code, or the machine (a port in use): the cause is in the message.
    report('the service did not start; once that is fixed, save a file to try again', error)
  }
}

/** Reloads now, or once more after the reload under way (a save during a reload is not lost). */
const schedule = (settled = false) => {
  // A newer save replaces a second look at an older one.
  clearTimeout(settling)
  if (reloading) {
    pending = true
    return
  }
  // A failure to stop or start is reported, never left to end this process.
  reloading = reload(settled).catch((error: unknown) => report('the reload failed', error)).finally(() => {
    reloading = undefined
    if (pending) {
      pending = false
      schedule()
    }
  })
}

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, async () => {
    await reloading
    await running?.stop(signal)
    await rm(OUT_DIR, { recursive: true, force: true })
    process.exit(0)
  })
// Its session gone (killed), this process must not outlive it holding the port.
exitWithParent()

// What a killed reloader left behind.
// (The directory is made by `bun install`; one installed with --ignore-scripts has none yet.)
for (const name of existsSync(CACHE_DIR) ? readdirSync(CACHE_DIR, { withFileTypes: true }) : [])
  if (name.isDirectory() && /^dev-\d+$/.test(name.name) && !isAlive(Number(name.name.slice(4)))) await rm(join(CACHE_DIR, name.name), { recursive: true, force: true })

// What a save can change. An editor's atomic save writes a temporary file (`sedX4bQ2k`,
// `x.ts~`, `.x.ts.swp`, `x.ts___jb_tmp___`) and renames it over the module: a reload for the
// temporary file would serve the old code, then reload again for the rename.
const SOURCE_FILE = /\.(?:ts|tsx|js|mjs|json|sql)$/

for (const dir of SOURCES)
  watch(dir, { recursive: true }, (_event, name) => {
    if (name && !SOURCE_FILE.test(name)) return
    if (name) unparsed.add(join(dir, name))
    modules.saw(name ? join(dir, name) : undefined)
    schedule()
  })
schedule()

