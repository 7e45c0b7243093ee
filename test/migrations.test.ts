import { describe, expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase } from '../src/db/connect'
import { migrate } from '../src/db/migrate'
import { migrations } from '../src/db/migrations'
import { createServerDatabase, openFreshDatabase, serverPrepare, serverUrl, testDatabase } from './support/database'

describe('migrations', () => {
  test('every file in migrations/ is bundled, in order, with its contents', async () => {
    const dir = join(import.meta.dir, '..', 'migrations')
    const files = readdirSync(dir).filter((file) => file.endsWith('.sql')).sort()
    expect(files.every((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))).toBe(true)
    expect(migrations.map((migration) => `${migration.version}.sql`)).toEqual(files)
    for (const migration of migrations) expect(migration.sql).toBe(await Bun.file(join(dir, `${migration.version}.sql`)).text())
  })

  test('running them again applies nothing and changes nothing', async () => {
    const { sql } = await testDatabase()
    const before = await sql`select version, applied_at from schema_migrations order by version`
    expect(before.map((row) => row.version)).toEqual(migrations.map((migration) => migration.version))
    expect(await migrate(sql)).toEqual([])
    expect(await Promise.all([migrate(sql), migrate(sql)])).toEqual([[], []])
    expect(await sql`select version, applied_at from schema_migrations order by version`).toEqual(before)
  })

  test('the users table enforces the rules itself', async () => {
    const { sql } = await testDatabase()
    const email = `db-${Date.now()}@example.com`
    await expect(sql`insert into users (name, email, age) values ('x', ${email}, 0)`).rejects.toMatchObject({ code: '23514' })
    await expect(sql`insert into users (name, email, age) values ('', ${email}, 30)`).rejects.toMatchObject({ code: '23514' })
    await sql`insert into users (name, email, age) values ('x', ${email}, 30)`
    await expect(sql`insert into users (name, email, age) values ('y', ${email.toUpperCase()}, 30)`).rejects.toMatchObject({
      code: '23505',
      constraint_name: 'users_email_lower_key',
    })
    await expect(sql`insert into users (id, name, email, age) values (1, 'z', 'z@example.com', 30)`).rejects.toMatchObject({ code: '428C9' })
    await sql`delete from users where email = ${email}`
  })

  // An index or ANALYZE on a big table outlasts a request's deadline. Only on a server reached
  // directly: the embedded database has no statement timeout, and PgBouncer drops the setting.
  test.skipIf(!serverUrl || !serverPrepare)('a migration may run longer than the statement timeout of the service\'s connections', async () => {
    const created = await createServerDatabase(serverUrl!, 'slow_migration')
    const database = await openDatabase({ url: created.url, dataDir: '', poolMax: 1, statementTimeoutMs: 200 })
    try {
      expect(await migrate(database.sql, [{ version: '0001_slow', sql: 'select pg_sleep(0.5)' }])).toEqual(['0001_slow'])
      // Outside the migration, the connection's own timeout holds.
      await expect(database.sql`select pg_sleep(0.5)`).rejects.toMatchObject({ code: '57014' })
    } finally {
      await database.close()
      await created.drop()
    }
  })

  // The planner picks the index only on a large table; with sequential scans off it shows it can.
  test('a name substring filter can be answered from the trigram index', async () => {
    const { sql } = await testDatabase()
    const plan = await sql.begin(async (tx) => {
      await tx`set local enable_seqscan = off`
      return tx<{ 'QUERY PLAN': string }[]>`explain select id from users where name ilike ${'%hopper%'}`
    })
    expect(plan.map((row) => row['QUERY PLAN']).join('\n')).toContain('users_name_trgm')
  })

  // A finer sample of names, so that a substring many users share is not taken for a rare one (whose
  // matches the planner would all read from the trigram index and sort): see 0005_name_statistics.
  test('names are sampled ten times finer than other columns', async () => {
    const { sql } = await testDatabase()
    // The default is -1, or null from PostgreSQL 17 (the embedded database).
    const targets = await sql<{ attname: string; attstattarget: number }[]>`
      select attname, coalesce(attstattarget, -1) as attstattarget from pg_attribute where attrelid = 'users'::regclass and attname in ('name', 'email') order by attname`
    expect(targets.map((row) => ({ ...row }))).toEqual([{ attname: 'email', attstattarget: -1 }, { attname: 'name', attstattarget: 1000 }])
  })
})

describe('migrating part of the way, and at once', () => {
  const versions = migrations.map((migration) => migration.version)

  // An embedded database starts from the template, whose schema is current: an empty one is a server's.
  test.skipIf(!serverUrl)('a database migrated part of the way gets the rest, and only the rest', async () => {
    const database = await openFreshDatabase({ migrated: false })
    try {
      expect(await migrate(database.sql, migrations.slice(0, 3))).toEqual(versions.slice(0, 3))
      expect(await migrate(database.sql)).toEqual(versions.slice(3))
      expect((await database.sql`select version from schema_migrations order by version`).map((row) => row.version)).toEqual(versions)
    } finally {
      await database.close()
    }
  }, 60_000)

  // Two connections at once: only on a server (the embedded database has one).
  test.skipIf(!serverUrl)('two instances migrating a new database at once: each migration applied once, neither fails', async () => {
    const database = await openFreshDatabase({ migrated: false })
    try {
      const applied = await Promise.all([migrate(database.sql), migrate(database.sql)])
      expect(applied.flat().sort()).toEqual(versions)
      expect(applied.map((list) => list.length).sort()).toEqual([0, versions.length])
    } finally {
      await database.close()
    }
  }, 60_000)
})
