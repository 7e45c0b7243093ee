import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres, { type Sql } from 'postgres'
import { openDatabase, type Database } from '../../src/db/connect'
import { migrate } from '../../src/db/migrate'

/**
 * The database the suite runs on: the server in `DATABASE_URL` (in a schema of its own, dropped
 * at the end) or, without it, an embedded one in a temporary directory.
 */
export interface TestDatabase {
  sql: Sql
  kind: Database['kind']
}

let opened: Promise<TestDatabase & { close(): Promise<void> }> | undefined

export const serverUrl = process.env.DATABASE_URL || undefined

const openServer = async (url: string) => {
  const schema = `users_api_test_${process.pid}_${Date.now().toString(36)}`
  const admin = postgres(url, { max: 1, onnotice: () => {} })
  await admin`create schema ${admin(schema)}`
  const database = await openDatabase({ url, dataDir: '', poolMax: 10, connection: { search_path: schema } })
  return {
    ...database,
    async close() {
      await database.close()
      await admin`drop schema ${admin(schema)} cascade`
      await admin.end({ timeout: 5 })
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

export const closeTestDatabase = async () => {
  if (opened) await (await opened).close()
}
