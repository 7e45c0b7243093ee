/**
 * `bun run dev`: a development session. Without DATABASE_URL this process owns the embedded
 * database for the whole session; the app runs beside it (reloader.ts, which swaps in new code on
 * each save) and talks to it over its socket. If the app crashes, it is started again: the data
 * stays here. Ctrl-C stops the app, then the database, and exits 0.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { errorMessage } from '../error-message'

// PGlite's WebAssembly takes the longest to get ready: its compilation starts before anything else,
// even before the rest of this program loads (its imports took about 60 ms).
if (!process.env.DATABASE_URL) void import('../db/pglite-assets').then(({ pgliteAssets }) => pgliteAssets())

const [{ ConfigError, loadConfig }, { freePort }, { createLogger }, { exitWithParent }] = await Promise.all([
  import('../config'),
  import('../free-port'),
  import('../logger'),
  import('../workers'),
])

const RESTART_DELAY_MS = 1000
const APP_STOP_GRACE_MS = 1000

const exitOnConfigError = (error: unknown): never => {
  if (!(error instanceof ConfigError)) throw error
  console.error(error.message)
  process.exit(1)
}

const config = (() => {
  try {
    return loadConfig()
  } catch (error) {
    return exitOnConfigError(error)
  }
})()
const logger = createLogger(config.logLevel)
// The app starts building while the database opens; it waits for the socket to appear.
const socketDir = config.databaseUrl ? undefined : mkdtempSync(join(tmpdir(), 'users-api-dev-'))
const embedded = socketDir
  ? import('../db/embedded').then(({ startEmbeddedPostgres }) => startEmbeddedPostgres(config.dataDir, { socketDir }))
  : undefined

// PORT=0 means a free port chosen once, so that the app keeps its address when it restarts.
const port = config.port === 0 ? freePort(config.host) : config.port

let stopping = false
let app: ReturnType<typeof Bun.spawn> | undefined

const startApp = () => {
  const args = [process.execPath, join(import.meta.dir, 'reloader.ts'), ...(socketDir ? [socketDir] : [])]
  // Its own process group: Ctrl-C reaches this process only, which stops the app first.
  const env = { ...process.env, PORT: String(port) }
  const child = Bun.spawn(args, { env, stdio: ['ignore', 'inherit', 'inherit'], detached: true })
  app = child
  void child.exited.then(async (code) => {
    if (stopping) return
    logger.error('the app exited; starting it again', { code })
    await Bun.sleep(RESTART_DELAY_MS)
    if (!stopping) startApp()
  })
}

/** Stops the app, then the database; exits with `code`. A second Ctrl-C stops the app at once. */
const stop = async (signal: NodeJS.Signals, code = 0) => {
  if (stopping) return void app?.kill('SIGKILL')
  stopping = true
  app?.kill(signal)
  const stopped = await Promise.race([app?.exited, Bun.sleep(config.shutdownTimeout + APP_STOP_GRACE_MS).then(() => 'timeout')])
  if (stopped === 'timeout') app?.kill('SIGKILL')
  await (await embedded?.catch(() => undefined))?.stop()
  // The database removes it when it stops; one that never started leaves it to us.
  if (socketDir) rmSync(socketDir, { recursive: true, force: true })
  logger.info('dev session stopped')
  process.exit(code)
}

// Started by `bun run dev`, which may itself be killed outright.
exitWithParent()
process.on('SIGINT', () => void stop('SIGINT'))
process.on('SIGTERM', () => void stop('SIGTERM'))
startApp()
void embedded?.then(
  () => logger.info('embedded database ready for the session', { data_dir: config.dataDir }),
  (error) => {
    logger.error('the embedded database did not start', { error: errorMessage(error) })
    // The app is still waiting for the database: it has nothing to finish.
    void stop('SIGKILL', 1)
  },
)
