import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres, { type ReservedSql, type Sql } from 'postgres'
import { openDatabase, type Database } from '../../src/db/connect'
import { migrate } from '../../src/db/migrate'

/**
 * The database the suite runs on: the server in `DATABASE_URL` (in a database of its own,
 * dropped at the end) or, without it, an embedded one in a temporary directory.
 */
export interface TestDatabase {
  sql: Sql
  kind: Database['kind']
}

let opened: Promise<TestDatabase & { close(): Promise<void> }> | undefined

export const serverUrl = process.env.DATABASE_URL || undefined

/** False when the suite runs through PgBouncer in transaction mode (DATABASE_PREPARE=false). */
export const serverPrepare = process.env.DATABASE_PREPARE !== 'false'

/**
 * A fresh database on the server in `url`, to drop when done: a database rather than a schema, so
 * that it works through PgBouncer in transaction mode too (which cannot keep a `search_path` per
 * session). It is named `users_api_<label>` and, unless `fixedName` is set, a suffix of this run's
 * own, so that concurrent runs never meet. A fixed name is dropped first if it exists, so what a
 * killed run left behind does not pile up.
 */
export const createServerDatabase = async (url: string, label = 'test', { fixedName = false } = {}) => {
  const suffix = fixedName ? '' : `_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`
  const name = `users_api_${label}${suffix}`
  const admin = postgres(url, { max: 1, onnotice: () => {}, prepare: serverPrepare })
  try {
    if (fixedName) await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.unsafe(`create database ${name}`)
  } catch (error) {
    await admin.end({ timeout: 5 })
    throw error
  }
  const databaseUrl = new URL(url)
  databaseUrl.pathname = `/${name}`
  return {
    url: databaseUrl.toString(),
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end({ timeout: 5 })
    },
  }
}

const openServer = async (url: string) => {
  const created = await createServerDatabase(url)
  const database = await openDatabase({ url: created.url, dataDir: '', poolMax: 10, prepare: serverPrepare })
  return {
    ...database,
    async close() {
      await database.close()
      await created.drop()
    },
  }
}

const openEmbedded = async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'users-api-test-'))
  const database = await openDatabase({ dataDir, poolMax: 1 })
  return {
    ...database,
    async close() {
      await database.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** The suite's one database, migrated; opened on first use. */
export const testDatabase = (): Promise<TestDatabase> =>
  (opened ??= (async () => {
    const database = serverUrl ? await openServer(serverUrl) : await openEmbedded()
    await migrate(database.sql)
    return database
  })())

/**
 * A database of a test's own (same kind as the suite's), migrated; with `migrated: false`, as it
 * opens: empty on a server, the template's current schema when embedded. `close` drops it.
 */
export const openFreshDatabase = async ({ migrated = true } = {}) => {
  const database = serverUrl ? await openServer(serverUrl) : await openEmbedded()
  if (migrated) await migrate(database.sql)
  return database
}

export const closeTestDatabase = async () => {
  if (opened) await (await opened).close()
}

/**
 * Resolves once another session of this database waits for the transaction open on `tx` (a row
 * it holds), asking every `everyMs`. Inside a transaction PostgreSQL keeps its first view of
 * `pg_stat_activity`: it is cleared before each look.
 */
export const untilSomeoneWaitsOn = async (tx: ReservedSql, everyMs = 5) => {
  const waiting = async () => {
    await tx`select pg_stat_clear_snapshot()`
    return tx`select 1 from pg_stat_activity where wait_event = 'transactionid' and datname = current_database()`
  }
  while ((await waiting()).length === 0) await Bun.sleep(everyMs)
}
