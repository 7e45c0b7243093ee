import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { buildTemplate } from '../../src/db/build-template'
import { startEmbeddedPostgres } from '../../src/db/embedded'
import { migrate } from '../../src/db/migrate'
import { migrations } from '../../src/db/migrations'

// Building a template runs initdb: seconds on a small machine.
setDefaultTimeout(60_000)

const scratch = mkdtempSync(join(tmpdir(), 'users-api-template-test-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/** Opens an embedded database in `dataDir` and runs `work` on a client of it. */
const withEmbedded = async <T>(dataDir: string, template: string | undefined, work: (sql: postgres.Sql) => Promise<T>) => {
  const embedded = await startEmbeddedPostgres(dataDir, { template })
  const sql = postgres({ host: embedded.socketDir, port: embedded.port, username: 'postgres', database: 'postgres', max: 1, onnotice: () => {} })
  try {
    return await work(sql)
  } finally {
    await sql.end({ timeout: 5 })
    await embedded.stop()
  }
}

// Embedded only: the suites on a server skip it, not to repeat it.
describe.skipIf(Boolean(process.env.DATABASE_URL))('the embedded database template', () => {
  test('a new data directory is a copy of it: migrated, no rows, one database', async () => {
    const dataDir = join(scratch, 'new')
    const found = await withEmbedded(dataDir, undefined, async (sql) => ({
      versions: (await sql`select version from schema_migrations order by version`).map((row) => row.version),
      users: (await sql`select count(*)::int as n from users`)[0]!.n,
      databases: (await sql`select datname from pg_database order by datname`).map((row) => row.datname),
    }))
    expect(found).toEqual({ versions: migrations.map((migration) => migration.version), users: 0, databases: ['postgres'] })
    // Nothing is made beside the data directory, and nothing of the restore is left in it.
    expect(readdirSync(scratch).filter((name) => name.startsWith('new'))).toEqual(['new'])
    // (The lock file stays: it is locked, not created, by the next process.)
    expect(readdirSync(dataDir).filter((name) => name.startsWith('.') || name.startsWith('users-api'))).toEqual(['users-api.lock'])
  })

  test('restored inside the directory, which stays the same one (a mount point cannot be replaced)', async () => {
    const dataDir = join(scratch, 'mount-point')
    mkdirSync(dataDir)
    const inode = statSync(dataDir).ino
    await withEmbedded(dataDir, undefined, async (sql) => expect((await sql`select count(*)::int as n from users`)[0]!.n).toBe(0))
    expect(statSync(dataDir).ino).toBe(inode)
  })

  test('a restore that stopped halfway is done again; a directory holding anything else is not touched', async () => {
    const dataDir = join(scratch, 'half-done')
    mkdirSync(join(dataDir, '.template-restore', 'base'), { recursive: true })
    writeFileSync(join(dataDir, '.template-restore-began'), '')
    writeFileSync(join(dataDir, 'postgresql.conf'), '# half of a copy')
    const versions = await withEmbedded(dataDir, undefined, async (sql) => (await sql`select version from schema_migrations`).map((row) => row.version))
    expect(versions).toEqual(migrations.map((migration) => migration.version))
    expect(readdirSync(dataDir).filter((name) => name.startsWith('.'))).toEqual([])
    const foreign = join(scratch, 'foreign')
    mkdirSync(foreign)
    writeFileSync(join(foreign, 'notes.txt'), 'mine')
    // Not copied over (PGlite itself then makes a new database beside what is there).
    await startEmbeddedPostgres(foreign).then((embedded) => embedded.stop())
    expect(readFileSync(join(foreign, 'notes.txt'), 'utf8')).toBe('mine')
  })

  test('a template from an older schema is brought forward by the migrations, and data written since stays', async () => {
    const older = join(scratch, 'older.tgz')
    await buildTemplate(older, [])
    // Archived after a clean shutdown with the one WAL segment that holds its checkpoint: the
    // recycled ones would only make each copy slower to unpack.
    const unpacked = join(scratch, 'older-unpacked')
    await new Bun.Archive(await Bun.file(older).bytes()).extract(unpacked)
    // No lock file in it: a copy must not replace the one a restore is made under.
    expect(readdirSync(unpacked).filter((name) => name.startsWith('users-api'))).toEqual([])
    // (Two when the checkpoint record runs on from one segment's last page into the next.)
    const segments = readdirSync(join(unpacked, 'pg_wal')).filter((name) => /^[0-9A-F]{24}$/.test(name)).length
    expect(segments === 1 || segments === 2).toBe(true)
    const dataDir = join(scratch, 'from-older')
    const applied = await withEmbedded(dataDir, older, async (sql) => {
      expect([...(await sql`select version from schema_migrations`)]).toEqual([])
      const versions = await migrate(sql)
      await sql`insert into users (name, email, age) values ('Kept', 'kept@example.com', 40)`
      return versions
    })
    expect(applied).toEqual(migrations.map((migration) => migration.version))
    // Opened again, the directory is an existing database: the template is not copied over it.
    const kept = await withEmbedded(dataDir, older, (sql) => sql`select name, email, age from users`)
    expect([...kept]).toEqual([{ name: 'Kept', email: 'kept@example.com', age: 40 }])
  })
})
