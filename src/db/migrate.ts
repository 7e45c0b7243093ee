import type { Sql } from 'postgres'
import { migrations as bundled, type Migration } from './migrations'

// Any fixed number shared by every instance of this service; it names the lock, nothing more.
const MIGRATION_LOCK = 7_201_455_001

const UNDEFINED_TABLE = '42P01'

/** True when every migration is recorded already: one query, no lock, no transaction. */
const upToDate = async (sql: Sql, migrations: readonly Migration[]) => {
  try {
    const done = new Set((await sql<{ version: string }[]>`select version from schema_migrations`).map((row) => row.version))
    return migrations.every((migration) => done.has(migration.version))
  } catch (error) {
    if ((error as { code?: string }).code === UNDEFINED_TABLE) return false
    throw error
  }
}

/**
 * Applies the migrations not yet recorded, in order, in one transaction under an advisory lock:
 * instances that start together wait for each other and none applies a migration twice.
 * Returns the versions it applied. A database already up to date costs one query (every start).
 */
export const migrate = async (sql: Sql, migrations: readonly Migration[] = bundled): Promise<string[]> =>
  (await upToDate(sql, migrations)) ? [] : applyPending(sql, migrations)

const applyPending = (sql: Sql, migrations: readonly Migration[]): Promise<string[]> =>
  sql.begin(async (tx) => {
    // The session's statement_timeout is REQUEST_TIMEOUT, made for requests: building an index or
    // analyzing a big table (and waiting for another instance doing so) may take far longer, and a
    // cancelled migration would only be retried, and cancelled again, for ever.
    await tx`set local statement_timeout = 0`
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`
    await tx`
      create table if not exists schema_migrations (
        version    text primary key,
        applied_at timestamptz not null default now()
      )`
    const done = new Set((await tx<{ version: string }[]>`select version from schema_migrations`).map((row) => row.version))
    const applied: string[] = []
    for (const migration of migrations) {
      if (done.has(migration.version)) continue
      await tx.unsafe(migration.sql)
      await tx`insert into schema_migrations (version) values (${migration.version})`
      applied.push(migration.version)
    }
    return applied
  })
