/**
 * The app half of `bun run dev` (session.ts starts it): rebuilds `src/` on every save and swaps the
 * running service for the new one in this same process. Only our own files are rebuilt and
 * evaluated again (in about 10 ms); the packages they use stay loaded, which is what makes a
 * reload several times faster than restarting a process. A build error keeps the old code running.
 * Usage: bun src/dev/reloader.ts [embedded-socket-dir]
 */
import { existsSync, readdirSync, watch } from 'node:fs'
import { rm } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { embeddedSocketPath } from '../db/embedded-socket'
import type { RunningService } from '../serve'
import { isAlive } from '../runtime'
import { exitWithParent } from '../workers'

type ServiceModule = typeof import('./service')

const SOURCES = [join(import.meta.dir, '..'), join(import.meta.dir, '../../migrations')]
// Inside the project, so the bundle's package imports resolve to node_modules; one per process.
const CACHE_DIR = join(import.meta.dir, '../../node_modules/.cache/users-api')
const OUT_DIR = join(CACHE_DIR, `dev-${process.pid}`)
const socketDir = process.argv[2]

let generation = 0
let running: RunningService | undefined
let reloading: Promise<void> | undefined
let pending = false

const report = (message: string, error?: unknown) =>
  console.error(`dev: ${message}${error === undefined ? '' : `: ${error instanceof Error ? error.message : String(error)}`}`)

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

/** Bundles src/ (packages left as imports, so they are not evaluated again) into a new file. */
const build = async (): Promise<ServiceModule | undefined> => {
  generation += 1
  const result = await Bun.build({
    entrypoints: [join(import.meta.dir, 'service.ts')],
    outdir: OUT_DIR,
    naming: `service-${generation}.js`,
    target: 'bun',
    packages: 'external',
    plugins: [filesInPlace],
    throw: false,
  })
  if (!result.success) {
    for (const log of result.logs) report('build failed', log.message)
    return undefined
  }
  const entry = result.outputs.find((output) => output.kind === 'entry-point')!.path
  const module = (await import(entry)) as ServiceModule
  await rm(entry, { force: true })
  return module
}

/** The session starts the database and this process together: the first start waits for its socket. */
const databaseReady = async () => {
  while (socketDir && !existsSync(embeddedSocketPath(socketDir))) await Bun.sleep(5)
}

const reload = async () => {
  const next = await build().catch((error) => report('build failed', error))
  if (!next) return
  await databaseReady()
  await running?.stop('reload')
  running = undefined
  try {
    running = await next.start(socketDir)
  } catch (error) {
    report('the service did not start; fix the code and save again', error)
  }
}

/** Reloads now, or once more after the reload under way (a save during a reload is not lost). */
const schedule = () => {
  if (reloading) {
    pending = true
    return
  }
  reloading = reload().finally(() => {
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
for (const name of readdirSync(CACHE_DIR, { withFileTypes: true }))
  if (name.isDirectory() && /^dev-\d+$/.test(name.name) && !isAlive(Number(name.name.slice(4)))) await rm(join(CACHE_DIR, name.name), { recursive: true, force: true })

for (const dir of SOURCES) watch(dir, { recursive: true }, schedule)
schedule()

