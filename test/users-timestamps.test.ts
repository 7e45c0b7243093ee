import { describe, expect, test } from 'bun:test'
import postgres, { type Sql } from 'postgres'
import { openDatabase } from '../src/db/connect'
import { migrate } from '../src/db/migrate'
import { createServerDatabase, openFreshDatabase, serverPrepare, serverUrl, testDatabase } from './support/database'
import { accountIn, buildApp, call, createUser, unique } from './support/http'

// The database writes the timestamps as text (src/users/service.ts): these pin that text to what
// `Date#toISOString` gave when the driver parsed them, whatever the session's time zone.

/**
 * A user inserted with SQL, its timestamps written into the statement as PostgreSQL literals:
 * as parameters postgres.js would pass them through `Date`, losing the microseconds and the zone.
 */
const insertUser = async (sql: Sql, createdAt: string, updatedAt: string) => {
  const tag = unique()
  const [row] = await sql.unsafe<{ id: string }[]>(
    `insert into users (name, email, age, created_at, updated_at)
     values ('Stamp ${tag}', 'stamp-${tag}@example.com', 30, '${createdAt}'::timestamptz, '${updatedAt}'::timestamptz)
     returning id`,
  )
  return { id: Number(row!.id), tag }
}

const KOLKATA = 'Asia/Kolkata'

/**
 * A migrated database of the test's own whose sessions run in Asia/Kolkata (UTC+05:30): on a
 * server a database-level setting, which every new pooled connection picks up; the embedded
 * database has one session only, so a `set` there holds for every query.
 */
const openInKolkata = async () => {
  if (!serverUrl) {
    const database = await openFreshDatabase()
    await database.sql.unsafe(`set timezone = '${KOLKATA}'`)
    return database
  }
  const created = await createServerDatabase(serverUrl, 'tz')
  const owner = postgres(created.url, { max: 1, onnotice: () => {}, prepare: serverPrepare })
  await owner.unsafe(`alter database ${new URL(created.url).pathname.slice(1)} set timezone = '${KOLKATA}'`)
  await owner.end({ timeout: 5 })
  const database = await openDatabase({ url: created.url, dataDir: '', poolMax: 2, prepare: serverPrepare })
  await migrate(database.sql)
  return {
    sql: database.sql,
    async close() {
      await database.close()
      await created.drop()
    },
  }
}

describe('user timestamps', () => {
  test('are ISO 8601 in UTC with milliseconds, the microseconds cut off, not rounded', async () => {
    const { sql } = await testDatabase()
    const { id, tag } = await insertUser(sql, '2026-01-02 03:04:05.678999+00', '2026-12-31 23:59:59.999999+00')
    const expected = { created_at: '2026-01-02T03:04:05.678Z', updated_at: '2026-12-31T23:59:59.999Z' }

    const read = await call('GET', `/users/${id}`)
    expect(read.status).toBe(200)
    expect(read.body).toMatchObject(expected)
    expect(read.text).toContain('"created_at":"2026-01-02T03:04:05.678Z"')

    const listed = await call('GET', `/users?name=${tag}`)
    expect(listed.status).toBe(200)
    expect(listed.body).toEqual([expect.objectContaining({ id, ...expected })])

    const patched = await call('PATCH', `/users/${id}`, { json: { age: 31 } })
    expect(patched.status).toBe(200)
    expect(patched.body.created_at).toBe(expected.created_at)
  })

  test('are whole seconds with .000 and keep a leading zero in every field', async () => {
    const { sql } = await testDatabase()
    const { id } = await insertUser(sql, '0987-03-04 05:06:07+00', '2026-07-08 09:10:11.000999+00')
    const read = await call('GET', `/users/${id}`)
    expect(read.body).toMatchObject({ created_at: '0987-03-04T05:06:07.000Z', updated_at: '2026-07-08T09:10:11.000Z' })
  })

  test('of a new and an updated user are what the stored instant gives through Date', async () => {
    const { sql } = await testDatabase()
    const user = await createUser()
    const patched = await call('PATCH', `/users/${user.id}`, { json: { age: 44 } })
    const [stored] = await sql<{ created_at: Date; updated_at: Date }[]>`select created_at, updated_at from users where id = ${user.id}`
    expect(user.created_at).toBe(stored!.created_at.toISOString())
    expect(patched.body.updated_at).toBe(stored!.updated_at.toISOString())
  })

  // PgBouncer gives each server session the TimeZone its clients started with, so a database's
  // own default never reaches a session through it: nothing to test there.
  test.skipIf(!!serverUrl && !serverPrepare)(`stay in UTC when the session's time zone is not (${KOLKATA})`, async () => {
    const database = await openInKolkata()
    try {
      const { sql } = database
      const [setting] = await sql<{ zone: string }[]>`select current_setting('TimeZone') as zone`
      expect(setting!.zone).toBe(KOLKATA)
      // A literal without an offset is read in the session's zone: 03:04 in Kolkata is 21:34 UTC the day before.
      const { id, tag } = await insertUser(sql, '2026-01-02 03:04:05.678999+00', '2026-01-02 03:04:05.678999')
      const app = buildApp(sql)
      const admin = await accountIn(sql, app, 'admin')
      const expected = { created_at: '2026-01-02T03:04:05.678Z', updated_at: '2026-01-01T21:34:05.678Z' }

      const read = await call('GET', `/users/${id}`, { token: admin.token ?? null }, app)
      expect(read.status).toBe(200)
      expect(read.body).toMatchObject(expected)
      const listed = await call('GET', `/users?name=${tag}`, { token: admin.token ?? null }, app)
      expect(listed.body).toEqual([expect.objectContaining({ id, ...expected })])

      const created = await call('POST', '/users', { token: admin.token ?? null, json: { name: 'Zoned', email: `zoned-${tag}@example.com`, age: 30 } }, app)
      expect(created.status).toBe(201)
      const [stored] = await sql<{ created_at: Date }[]>`select created_at from users where id = ${created.body.id}`
      expect(created.body.created_at).toBe(stored!.created_at.toISOString())
    } finally {
      await database.close()
    }
  })
})
