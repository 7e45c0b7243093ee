/**
 * Multi-process serving. With `WORKERS` > 1 the first process is a primary that serves nothing:
 * it runs `WORKERS` copies of this very program that all listen on the same port (SO_REUSEPORT:
 * the kernel spreads new connections across them), each with its own database pool (its share of
 * `DATABASE_POOL_MAX`). SIGTERM or SIGINT to the primary is passed on; it exits 0 once every
 * worker has. A worker that dies on its own takes the others down and the primary exits 1, so
 * whatever supervises the service (a container runtime, systemd) restarts it whole.
 */
import { freePort } from './free-port'
import { groupTotals, type RateLimitReport } from './rate-limit/group'
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
 * Stops this process (through its own SIGTERM handler, so it drains) once its parent (a worker's
 * primary, the dev session's processes) is gone without passing a signal on, e.g. after SIGKILL:
 * an orphan would hold the port and its connections with no one to stop it. The process is
 * re-parented then, which is what is watched.
 */
export const exitWithParent = () => {
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
  const addUp = groupTotals()
  const children: Bun.Subprocess[] = []
  // One IPC channel per worker carries both: the rate limit's reports here, the rest to `hooks`.
  const receive = (message: RateLimitReport | undefined) => {
    if (message?.kind !== 'rate-limit/report') return hooks?.onMessage(message)
    const total = addUp(message)
    if (!total) return
    for (const child of children)
      try {
        child.send(total)
      } catch {
        // An exiting worker: its count no longer matters.
      }
  }
  for (let index = 0; index < settings.workers; index++)
    children.push(
      Bun.spawn(ownCommand(), {
        env: { ...process.env, PORT: String(port), [WORKER_NUMBER_VARIABLE]: String(index + 1) },
        stdio: ['ignore', 'inherit', 'inherit'],
        // Their own process group: Ctrl-C in a terminal reaches the primary only, which passes it on once.
        detached: true,
        ipc: receive,
        serialization: 'json',
      }),
    )
  hooks?.started(children)

  let signalled = false
  let stopping: NodeJS.Signals | undefined
  const stopAll = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = signal
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
      // Killed by the very signal passed on: it was still loading (a started worker drains and
      // exits 0), so nothing was in flight.
      return child.signalCode === stopping ? 0 : code
    }),
  )
  process.exit(signalled && exitCodes.every((code) => code === 0) ? 0 : 1)
}
