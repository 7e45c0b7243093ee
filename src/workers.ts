/**
 * Multi-process serving. With `WORKERS` > 1 the first process is a primary that serves nothing:
 * it runs `WORKERS` copies of this very program that all listen
 * on the same port (SO_REUSEPORT: the kernel spreads new connections across them), each with its
 * own database pool. SIGTERM or SIGINT to the primary is passed on; it exits 0 once every worker
 * has. A worker that dies on its own takes the others down and the primary exits 1, so whatever
 * supervises the service (a container runtime, systemd) restarts it whole.
 */
import { availableParallelism } from 'node:os'
import type { Config } from './config'
import { freePort } from './free-port'
import type { Logger } from './logger'

const WORKER_VARIABLE = 'USERS_API_WORKER'
const PRIMARY_CHECK_MS = 1000

/** A compiled binary runs its code from Bun's embedded file system. */
const runningCompiled = () => Bun.main.startsWith('/$bunfs/')

/**
 * `WORKERS` when unset: every core for the compiled binary (and so the container), one when run
 * from source (`bun run dev`, `bun start`), where a single process is easier to debug and reload.
 */
export const defaultWorkers = () => (runningCompiled() ? availableParallelism() : 1)

/**
 * This program's own command line. From source it is `bun <script> <args>`; compiled, argv[1]
 * is the virtual `/$bunfs/root/...` path and the binary itself is `execPath`.
 */
const ownCommand = () =>
  runningCompiled() ? [process.execPath, ...process.argv.slice(2)] : [process.execPath, ...process.argv.slice(1)]

/** True in the process that should supervise workers rather than serve. */
export const isPrimary = (config: Pick<Config, 'workers'>) => config.workers > 1 && process.env[WORKER_VARIABLE] === undefined

/**
 * In a worker: its number (1..WORKERS), and a watch that stops it (through its own SIGTERM
 * handler) if the primary disappears without passing a signal on, e.g. after SIGKILL.
 * Undefined in a process serving alone.
 */
export const joinPrimary = (): number | undefined => {
  const value = process.env[WORKER_VARIABLE]
  if (value === undefined) return undefined
  const primary = process.ppid
  setInterval(() => {
    if (process.ppid !== primary) process.kill(process.pid, 'SIGTERM')
  }, PRIMARY_CHECK_MS).unref()
  return Number(value)
}

/** A port the workers can all bind: `PORT=0` means one free port chosen here, not one each. */
const sharedPort = (config: Pick<Config, 'port' | 'host'>) => (config.port !== 0 ? config.port : freePort(config.host))

/**
 * The primary's whole life: run the workers, stop them on a signal, exit. It does not touch the
 * database: each worker migrates (under the migrations' advisory lock) and retries while the
 * database is down, as a single process does.
 */
export const superviseWorkers = async (config: Pick<Config, 'workers' | 'port' | 'host'>, logger: Logger): Promise<never> => {
  const port = sharedPort(config)
  logger.info('starting workers', { workers: config.workers, port })
  const workers = Array.from({ length: config.workers }, (_, index) =>
    Bun.spawn(ownCommand(), {
      env: { ...process.env, PORT: String(port), [WORKER_VARIABLE]: String(index + 1) },
      stdio: ['ignore', 'inherit', 'inherit'],
      // Their own process group: Ctrl-C in a terminal reaches the primary only, which passes it on once.
      detached: true,
    }),
  )

  let signalled = false
  let stopping = false
  const stopAll = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    for (const worker of workers) worker.kill(signal)
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.on(signal, () => {
      if (!stopping) logger.info('shutting down', { signal, workers: config.workers })
      signalled = true
      stopAll(signal)
    })

  const codes = await Promise.all(
    workers.map(async (worker, index) => {
      const code = await worker.exited
      if (!stopping) {
        logger.error('worker exited; stopping the others', { worker: index + 1, code })
        stopAll('SIGTERM')
      }
      return code
    }),
  )
  process.exit(signalled && codes.every((code) => code === 0) ? 0 : 1)
}
