import type { Sql } from 'postgres'
import { migrations as bundled, type Migration } from './migrations'

// Any fixed number shared by every instance of this service; it names the lock, nothing more.
const MIGRATION_LOCK = 7_201_455_001

/**
 * Applies the migrations not yet recorded, in order, in one transaction under an advisory lock:
 * instances that start together wait for each other and none applies a migration twice.
 * Returns the versions it applied.
 */
export const migrate = async (sql: Sql, migrations: readonly Migration[] = bundled): Promise<string[]> =>
  sql.begin(async (tx) => {
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
