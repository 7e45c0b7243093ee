import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../src/free-port'
import { asPostgres, giveToPostgres } from './private-postgres'

/** Debian's PgBouncer is on this machine (CI installs it). */
export const pgbouncerAvailable = Bun.which('pgbouncer') !== null

/**
 * A PgBouncer of a test's own in transaction mode, in front of the server of `serverUrl`, in a
 * temporary directory on a free port; `url` is `serverUrl` through it.
 */
export const startPgBouncer = async (serverUrl: string) => {
  const server = new URL(serverUrl)
  const dir = mkdtempSync(join(tmpdir(), 'users-api-pgbouncer-'))
  const port = freePort()
  writeFileSync(join(dir, 'users.txt'), `"${decodeURIComponent(server.username) || 'postgres'}" ""\n`)
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    `[databases]\n* = host=${server.hostname} port=${server.port || 5432}\n\n[pgbouncer]\n` +
      `listen_addr = 127.0.0.1\nlisten_port = ${port}\nunix_socket_dir =\nauth_type = trust\nauth_file = ${dir}/users.txt\n` +
      `pool_mode = transaction\nignore_startup_parameters = extra_float_digits,statement_timeout\n` +
      `logfile = ${dir}/pgbouncer.log\npidfile = ${dir}/pgbouncer.pid\n`,
  )
  giveToPostgres(dir)
  const bouncer = Bun.spawn(asPostgres(['pgbouncer', join(dir, 'pgbouncer.ini')]), { stdout: 'ignore', stderr: 'ignore' })
  for (let tries = 0; tries < 50 && Bun.spawnSync(['pg_isready', '-q', '-h', '127.0.0.1', '-p', String(port)]).exitCode !== 0; tries++) {
    await Bun.sleep(100)
  }
  const url = new URL(server)
  url.port = String(port)
  url.hostname = '127.0.0.1'
  return {
    url: url.toString(),
    async stop() {
      // Signalled itself: runuser, signalled, waits two seconds before it passes the signal on.
      process.kill(Number(readFileSync(join(dir, 'pgbouncer.pid'), 'utf8')), 'SIGTERM')
      await bouncer.exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
