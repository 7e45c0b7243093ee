import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../src/free-port'

/**
 * A PostgreSQL server of a test's own (initdb and pg_ctl from the machine's PostgreSQL, in a
 * temporary directory, on a free port), for tests that stop, restart or freeze the database:
 * never the shared one.
 */
const POSTGRES_BIN = existsSync('/usr/lib/postgresql')
  ? readdirSync('/usr/lib/postgresql')
      .map((version) => `/usr/lib/postgresql/${version}/bin`)
      .find((dir) => existsSync(`${dir}/initdb`))
  : undefined

export const privatePostgresAvailable = POSTGRES_BIN !== undefined

// PostgreSQL (and PgBouncer) refuse to run as root; CI runs as root.
/** `args` run as the `postgres` user when this process is root. */
export const asPostgres = (args: string[]) => (process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...args] : args)

/** `dir` handed to the `postgres` user when this process is root, for a server to write in. */
export const giveToPostgres = (dir: string) => {
  if (process.getuid?.() !== 0) return
  const id = (flag: string) => Number(Bun.spawnSync(['id', flag, 'postgres']).stdout.toString())
  chownSync(dir, id('-u'), id('-g'))
}

const runPostgresTool = (args: string[]) => {
  const result = Bun.spawnSync(asPostgres(args), { stdout: 'pipe', stderr: 'pipe' })
  if (result.exitCode !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr}`)
}

export interface PrivatePostgres {
  url: string
  start(): void
  stop(): void
  restart(): void
  /** Freezes every server process (SIGSTOP): connections stay open and nothing answers. */
  freeze(): void
  thaw(): void
  destroy(): void
  /** The server's last log lines, to explain a failure. */
  logTail(lines?: number): string
}

/** Creates the cluster; it is not running until `start()`. */
export const createPrivatePostgres = (): PrivatePostgres => {
  const dir = mkdtempSync(join(tmpdir(), 'users-api-pg-'))
  giveToPostgres(dir)
  const data = join(dir, 'data')
  const port = freePort()
  runPostgresTool([`${POSTGRES_BIN}/initdb`, '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'])
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=on`
  const pgCtl = (...args: string[]) => runPostgresTool([`${POSTGRES_BIN}/pg_ctl`, '-D', data, '-l', join(dir, 'log'), ...args])
  const pids = () => {
    const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
    const children = Bun.spawnSync(['pgrep', '-P', String(postmaster)]).stdout.toString().split('\n').filter(Boolean)
    return [String(postmaster), ...children]
  }
  const signal = (name: string) => existsSync(join(data, 'postmaster.pid')) && Bun.spawnSync(['kill', `-${name}`, ...pids()])
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: () => pgCtl('-o', options, '-w', 'start'),
    stop: () => pgCtl('-m', 'fast', '-w', 'stop'),
    restart: () => pgCtl('-o', options, '-m', 'fast', '-w', 'restart'),
    freeze: () => void signal('STOP'),
    thaw: () => void signal('CONT'),
    logTail: (lines = 20) => {
      try {
        return readFileSync(join(dir, 'log'), 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
      } catch {
        return '(no log)'
      }
    },
    destroy: () => {
      try {
        pgCtl('-m', 'immediate', '-w', 'stop')
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
