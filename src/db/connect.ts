import postgres, { type Sql } from 'postgres'

export interface DatabaseOptions {
  /** A server's `postgres://` URL; without it, the embedded database in `dataDir`. */
  url?: string
  dataDir: string
  poolMax: number
  /** Session settings for every connection, e.g. `search_path`. */
  connection?: Record<string, string>
}

export interface Database {
  sql: Sql
  kind: 'server' | 'embedded'
  close(): Promise<void>
}

const CLOSE_TIMEOUT_SECONDS = 5
// A statement running longer is cancelled by the server (SQLSTATE 57014, answered 503) rather
// than holding a request and a connection for ever.
const STATEMENT_TIMEOUT_MS = 5000

const clientOptions = (options: DatabaseOptions) => ({
  connect_timeout: 5,
  onnotice: () => {},
  connection: { application_name: 'users-api', ...options.connection },
})

/** The one `sql` client of the process, on the server in `url` or on the embedded database. */
export const openDatabase = async (options: DatabaseOptions): Promise<Database> => {
  if (options.url) {
    const sql = postgres(options.url, {
      ...clientOptions(options),
      connection: { statement_timeout: STATEMENT_TIMEOUT_MS, ...clientOptions(options).connection },
      max: options.poolMax,
    })
    return { sql, kind: 'server', close: () => sql.end({ timeout: CLOSE_TIMEOUT_SECONDS }) }
  }
  // Loaded only when used: PGlite's code costs a server-backed process memory it never needs.
  const { startEmbeddedPostgres } = await import('./embedded')
  const embedded = await startEmbeddedPostgres(options.dataDir)
  const sql = postgres({
    ...clientOptions(options),
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
