import postgres, { type Sql } from 'postgres'
import type { Config } from '../config'
import { EMBEDDED_PORT } from './embedded-socket'

export interface DatabaseOptions {
  /** A server's `postgres://` URL; without it, the embedded database in `dataDir`. */
  url?: string
  dataDir: string
  poolMax: number
  /** False behind PgBouncer in transaction mode: no prepared statements, no pipelining. */
  prepare?: boolean
  /** The server cancels a statement running longer (SQLSTATE 57014, answered 503). */
  statementTimeoutMs?: number
  /** The socket directory of an embedded database served by another process (`bun run dev`'s). */
  embeddedSocketDir?: string
}

export interface Database {
  sql: Sql
  kind: 'server' | 'embedded'
  close(): Promise<void>
}

/** The database settings of a configuration. */
export const databaseOptions = (config: Config): DatabaseOptions => ({
  url: config.databaseUrl,
  dataDir: config.dataDir,
  poolMax: config.databasePoolPerWorker,
  prepare: config.databasePrepare,
  statementTimeoutMs: config.requestTimeout,
})

const CLOSE_TIMEOUT_SECONDS = 5
const DEFAULT_STATEMENT_TIMEOUT_MS = 5000

// Both kinds of database: give up connecting after 5 s, keep server notices out of the logs, and
// try again soon after a failed connection: postgres.js waits 3^n / 100 s by default, n counting
// the whole pool's failures (10–20 s after a few seconds down), and queries wait on a connection
// that is not trying. Here at most 0.5–1 s; an attempt at a server that is away costs little.
const CLIENT_DEFAULTS = { connect_timeout: 5, onnotice: () => {}, backoff: (failures: number) => Math.min(0.025 * 2 ** failures, 1) * (0.5 + Math.random() / 2) }
// Every session writes timestamps as ISO text, whatever the server's or database's default
// (src/users/timestamp-text.ts reshapes that text); the time zone is left as it is.
const SESSION = { application_name: 'users-api', DateStyle: 'ISO' }

/** The one `sql` client of the process, on the server in `url` or on the embedded database. */
export const openDatabase = async (options: DatabaseOptions): Promise<Database> => {
  if (options.url) {
    const sql = postgres(options.url, {
      ...CLIENT_DEFAULTS,
      // A stalled statement is cancelled by the server instead of holding a connection for ever.
      connection: { ...SESSION, statement_timeout: options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS },
      max: options.poolMax,
      prepare: options.prepare ?? true,
      // A transaction pooler hands the server connection back at the end of each statement: a
      // second statement sent on the same connection before the first is answered (postgres.js
      // pipelines when every connection is busy) gets its answer lost, and waits for its deadline.
      ...(options.prepare === false && { max_pipeline: 0 }),
    })
    return { sql, kind: 'server', close: () => sql.end({ timeout: CLOSE_TIMEOUT_SECONDS }) }
  }
  const client = (socketDir: string) =>
    postgres({
      ...CLIENT_DEFAULTS,
      connection: SESSION,
      host: socketDir,
      port: EMBEDDED_PORT,
      username: 'postgres',
      database: 'postgres',
      max: 1,
      // Reading pg_type for array types costs PGlite 20–50 ms per connection (each start, each dev
      // reload); the service uses no arrays. The suite runs on both databases, so one added later
      // shows up as a difference.
      fetch_types: false,
    })
  if (options.embeddedSocketDir) {
    const sql = client(options.embeddedSocketDir)
    return { sql, kind: 'embedded', close: () => sql.end({ timeout: CLOSE_TIMEOUT_SECONDS }) }
  }
  // Loaded only when used: PGlite's code costs a server-backed process memory it never needs.
  const { startEmbeddedPostgres } = await import('./embedded')
  const embedded = await startEmbeddedPostgres(options.dataDir)
  const sql = client(embedded.socketDir)
  return {
    sql,
    kind: 'embedded',
    async close() {
      await sql.end({ timeout: CLOSE_TIMEOUT_SECONDS })
      await embedded.stop()
    },
  }
}
