import { describe, expect, test } from 'bun:test'
import postgres, { type Sql } from 'postgres'
import { openDatabase } from '../src/db/connect'
import { migrate } from '../src/db/migrate'
import { createServerDatabase, openFreshDatabase, serverPrepare, serverUrl, testDatabase } from './support/database'
import { accountIn, buildApp, call, createUser, unique } from './support/http'

// The service reshapes PostgreSQL's own text of the timestamps (src/users/timestamp-text.ts): these
// pin the result to what `Date#toISOString` gave when the driver parsed them, whatever the
// session's time zone and the database's date style.

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

/**
 * A migrated database of the test's own whose sessions run in time zone `zone`: on a
 * server a database-level setting, which every new pooled connection picks up (with a date style
 * of `SQL, DMY` too, which the service's sessions override); the embedded database has one
 * session only, so a `set` there holds for every query.
 */
const openInZone = async (zone: string) => {
  if (!serverUrl) {
    const database = await openFreshDatabase()
    await database.sql.unsafe(`set timezone = '${zone}'`)
    return database
  }
  const created = await createServerDatabase(serverUrl, 'tz')
  const owner = postgres(created.url, { max: 1, onnotice: () => {}, prepare: serverPrepare })
  const name = new URL(created.url).pathname.slice(1)
  await owner.unsafe(`alter database ${name} set timezone = '${zone}'`)
  await owner.unsafe(`alter database ${name} set datestyle = 'SQL, DMY'`)
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

  // PostgreSQL drops a fraction's trailing zeros (`.5`, `.25`, `.05`).
  test('pad a short fraction to milliseconds', async () => {
    const { sql } = await testDatabase()
    const short = await insertUser(sql, '2026-01-02 03:04:05.5+00', '2026-01-02 03:04:05.25+00')
    const other = await insertUser(sql, '2026-01-02 03:04:05.05+00', '2026-01-02 03:04:05.1+00')
    const listed = await call('GET', `/users?name=Stamp&after=${short.id - 1}&limit=2`)
    expect(listed.status).toBe(200)
    expect(listed.body).toEqual([
      expect.objectContaining({ id: short.id, created_at: '2026-01-02T03:04:05.500Z', updated_at: '2026-01-02T03:04:05.250Z' }),
      expect.objectContaining({ id: other.id, created_at: '2026-01-02T03:04:05.050Z', updated_at: '2026-01-02T03:04:05.100Z' }),
    ])
  })

  test('of a new and an updated user are what the stored instant gives through Date', async () => {
    const { sql } = await testDatabase()
    const user = await createUser()
    const patched = await call('PATCH', `/users/${user.id}`, { json: { age: 44 } })
    const [stored] = await sql<{ created_at: Date; updated_at: Date }[]>`select created_at, updated_at from users where id = ${user.id}`
    expect(user.created_at).toBe(stored!.created_at.toISOString())
    expect(patched.body.updated_at).toBe(stored!.updated_at.toISOString())
  })

  // A literal without an offset is read in the session's zone (`updated_at` below); before the
  // 20th century zones were local mean time, offsets with seconds (1850 below).
  const ZONES = [
    { zone: 'Asia/Kolkata', local: '2026-01-01T21:34:05.678Z', oldText: '1850-06-07 00:00:00+05:53:28', old: '1850-06-06T18:06:32.000Z' },
    { zone: 'America/St_Johns', local: '2026-01-02T06:34:05.678Z', oldText: '1850-06-07 00:00:00-03:30:52', old: '1850-06-07T03:30:52.000Z' },
  ]

  // PgBouncer gives each server session the TimeZone its clients started with, so a database's
  // own default never reaches a session through it: nothing to test there.
  test.skipIf(!!serverUrl && !serverPrepare).each(ZONES)(`stay in UTC when the session's time zone is not ($zone)`, async ({ zone, local, oldText, old }) => {
    const database = await openInZone(zone)
    try {
      const { sql } = database
      const [setting] = await sql<{ zone: string; style: string }[]>`select current_setting('TimeZone') as zone, current_setting('DateStyle') as style`
      expect(setting!.zone).toBe(zone)
      expect(setting!.style).toStartWith('ISO, ')
      const { id, tag } = await insertUser(sql, '2026-01-02 03:04:05.678999+00', '2026-01-02 03:04:05.678999')
      const past = await insertUser(sql, '1850-06-07 08:09:10.2+00', '1850-06-07 00:00:00')
      const app = buildApp(sql)
      const admin = await accountIn(sql, app, 'admin')
      const expected = { created_at: '2026-01-02T03:04:05.678Z', updated_at: local }

      const read = await call('GET', `/users/${id}`, { token: admin.token ?? null }, app)
      expect(read.status).toBe(200)
      expect(read.body).toMatchObject(expected)
      const listed = await call('GET', `/users?name=${tag}`, { token: admin.token ?? null }, app)
      expect(listed.body).toEqual([expect.objectContaining({ id, ...expected })])
      const [text] = await sql<{ updated: string }[]>`select updated_at::text as updated from users where id = ${past.id}`
      expect(text!.updated).toBe(oldText)
      const pastRead = await call('GET', `/users/${past.id}`, { token: admin.token ?? null }, app)
      expect(pastRead.status).toBe(200)
      expect(pastRead.body).toMatchObject({ created_at: '1850-06-07T08:09:10.200Z', updated_at: old })

      const created = await call('POST', '/users', { token: admin.token ?? null, json: { name: 'Zoned', email: `zoned-${tag}@example.com`, age: 30 } }, app)
      expect(created.status).toBe(201)
      const [stored] = await sql<{ created_at: Date }[]>`select created_at from users where id = ${created.body.id}`
      expect(created.body.created_at).toBe(stored!.created_at.toISOString())
    } finally {
      await database.close()
    }
  })
})
