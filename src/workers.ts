/**
 * Multi-process serving. With `WORKERS` > 1 the first process is a primary that serves nothing:
 * it runs `WORKERS` copies of this very program that all listen on the same port (SO_REUSEPORT:
 * the kernel spreads new connections across them), each with its own database pool (its share of
 * `DATABASE_POOL_MAX`). SIGTERM or SIGINT to the primary is passed on; it exits 0 once every
 * worker has. A worker that dies on its own takes the others down and the primary exits 1, so
 * whatever supervises the service (a container runtime, systemd) restarts it whole.
 */
import { freePort } from './free-port'
import type { Logger } from './logger'
import { runningCompiled } from './runtime'

/** Set by the primary in each worker's environment: the worker's number, 1..WORKERS. */
const WORKER_NUMBER_VARIABLE = 'USERS_API_WORKER'
const PRIMARY_POLL_MS = 1000

/** The settings the primary needs (`Config` has them all). */
export interface WorkerSettings {
  workers: number
  port: number
  host: string
}

/**
 * This program's own command line. From source it is `bun <script> <args>`; compiled, argv[1]
 * is the virtual `/$bunfs/root/...` path and the binary itself is `execPath`.
 */
const ownCommand = () =>
  runningCompiled() ? [process.execPath, ...process.argv.slice(2)] : [process.execPath, ...process.argv.slice(1)]

/** True in the process that should supervise workers rather than serve. */
export const isPrimary = (settings: Pick<WorkerSettings, 'workers'>) =>
  settings.workers > 1 && process.env[WORKER_NUMBER_VARIABLE] === undefined

/** In a worker, its number (1..WORKERS); undefined in a process serving alone. */
export const workerNumber = (): number | undefined => {
  const value = process.env[WORKER_NUMBER_VARIABLE]
  return value === undefined ? undefined : Number(value)
}

/**
 * Stops this worker (through its own SIGTERM handler, so it drains) once its primary is gone
 * without passing a signal on, e.g. after SIGKILL: an orphan would hold the port and its
 * connections with no one to stop it. The worker is re-parented then, which is what is watched.
 */
export const exitWithPrimary = () => {
  const primary = process.ppid
  setInterval(() => {
    if (process.ppid !== primary) process.kill(process.pid, 'SIGTERM')
  }, PRIMARY_POLL_MS).unref()
}

/** A port the workers can all bind: `PORT=0` means one free port chosen here, not one each. */
const sharedPort = (settings: Pick<WorkerSettings, 'port' | 'host'>) => (settings.port !== 0 ? settings.port : freePort(settings.host))

/** What else the primary does with its workers (serving their metrics): messages over IPC. */
export interface WorkerHooks {
  onMessage(message: unknown): void
  started(workers: readonly { send(message: unknown): void }[]): void
}

/**
 * The primary's whole life: run the workers, stop them on a signal, exit. It does not touch the
 * database: each worker migrates (under the migrations' advisory lock) and retries while the
 * database is down, as a single process does.
 */
export const superviseWorkers = async (settings: WorkerSettings, logger: Logger, hooks?: WorkerHooks): Promise<never> => {
  const port = sharedPort(settings)
  logger.info('starting workers', { workers: settings.workers, port })
  const children = Array.from({ length: settings.workers }, (_, index) =>
    Bun.spawn(ownCommand(), {
      env: { ...process.env, PORT: String(port), [WORKER_NUMBER_VARIABLE]: String(index + 1) },
      stdio: ['ignore', 'inherit', 'inherit'],
      // Their own process group: Ctrl-C in a terminal reaches the primary only, which passes it on once.
      detached: true,
      ...(hooks ? { ipc: (message: unknown) => hooks.onMessage(message), serialization: 'json' as const } : {}),
    }),
  )
  hooks?.started(children)

  let signalled = false
  let stopping = false
  const stopAll = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    for (const child of children) child.kill(signal)
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.on(signal, () => {
      if (!stopping) logger.info('shutting down', { signal, workers: settings.workers })
      signalled = true
      stopAll(signal)
    })

  const exitCodes = await Promise.all(
    children.map(async (child, index) => {
      const code = await child.exited
      if (!stopping) {
        logger.error('worker exited; stopping the others', { worker: index + 1, code })
        stopAll('SIGTERM')
      }
      return code
    }),
  )
  process.exit(signalled && exitCodes.every((code) => code === 0) ? 0 : 1)
}
