import postgres, { type Sql } from 'postgres'

export interface DatabaseOptions {
  /** A server's `postgres://` URL; without it, the embedded database in `dataDir`. */
  url?: string
  dataDir: string
  poolMax: number
  /** False behind PgBouncer in transaction mode. */
  prepare?: boolean
  /** The server cancels a statement running longer (SQLSTATE 57014, answered 503). */
  statementTimeoutMs?: number
}

export interface Database {
  sql: Sql
  kind: 'server' | 'embedded'
  close(): Promise<void>
}

const CLOSE_TIMEOUT_SECONDS = 5
const DEFAULT_STATEMENT_TIMEOUT_MS = 5000

// Both kinds of database: give up connecting after 5 s, and keep server notices out of the logs.
const CLIENT_DEFAULTS = { connect_timeout: 5, onnotice: () => {} }
const APPLICATION_NAME = 'users-api'

/** The one `sql` client of the process, on the server in `url` or on the embedded database. */
export const openDatabase = async (options: DatabaseOptions): Promise<Database> => {
  if (options.url) {
    const sql = postgres(options.url, {
      ...CLIENT_DEFAULTS,
      // A stalled statement is cancelled by the server instead of holding a connection for ever.
      connection: { application_name: APPLICATION_NAME, statement_timeout: options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS },
      max: options.poolMax,
      prepare: options.prepare ?? true,
    })
    return { sql, kind: 'server', close: () => sql.end({ timeout: CLOSE_TIMEOUT_SECONDS }) }
  }
  // Loaded only when used: PGlite's code costs a server-backed process memory it never needs.
  const { startEmbeddedPostgres } = await import('./embedded')
  const embedded = await startEmbeddedPostgres(options.dataDir)
  const sql = postgres({
    ...CLIENT_DEFAULTS,
    connection: { application_name: APPLICATION_NAME },
    host: embedded.socketDir,
    port: embedded.port,
    username: 'postgres',
    database: 'postgres',
    max: 1,
  })
  return {
    sql,
    kind: 'embedded',
    async close() {
      await sql.end({ timeout: CLOSE_TIMEOUT_SECONDS })
      await embedded.stop()
    },
  }
}
