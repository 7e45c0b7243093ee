/**
 * Builds the embedded database's template (see template-file.ts): `bun install` runs it, and
 * `bun run build` before compiling. It does nothing when the template already matches this PGlite
 * and these migrations. Usage: bun src/db/build-template.ts [--force]
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import pglite from '../../node_modules/@electric-sql/pglite/package.json'
import { startEmbeddedPostgres } from './embedded'
import { migrate } from './migrate'
import { migrations, type Migration } from './migrations'

const CACHE_DIR = join(import.meta.dir, '../../node_modules/.cache/users-api')
const TEMPLATE = join(CACHE_DIR, 'pgdata-template.tgz')
const STAMP = join(CACHE_DIR, 'pgdata-template.stamp')
// 1 MB WAL segments instead of 16: the template, and each copy of it, writes 15 MB less.
const INITDB_ARGS = ['--wal-segsize=1']

/** What the template depends on: PGlite's version, the initdb arguments and every migration. */
const templateStamp = (list: readonly Migration[]) =>
  new Bun.CryptoHasher('sha256').update(JSON.stringify([pglite.version, INITDB_ARGS, list])).digest('hex')

/**
 * The directory's files, and its directories (empty ones too: PostgreSQL needs them) as `name/`,
 * for `Bun.Archive`.
 */
const archiveEntries = (root: string) => {
  const entries: Record<string, Uint8Array | string> = {}
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const name = join(entry.parentPath, entry.name).slice(root.length + 1)
    entries[entry.isDirectory() ? `${name}/` : name] = entry.isDirectory() ? '' : readFileSync(join(root, name))
  }
  return entries
}

/**
 * Writes a template migrated to `list` into `file`. The directory is archived after PGlite has shut
 * down cleanly: a copy of a running database would start with a crash recovery every time.
 */
export const buildTemplate = async (file: string, list: readonly Migration[] = migrations) => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'users-api-template-')), 'pgdata')
  const embedded = await startEmbeddedPostgres(dataDir, { fromTemplate: false, initdbArgs: INITDB_ARGS })
  try {
    const sql = postgres({ host: embedded.socketDir, port: embedded.port, username: 'postgres', database: 'postgres', max: 1, onnotice: () => {} })
    try {
      await migrate(sql, list)
      // The service uses one database: the two copies initdb keeps for CREATE DATABASE would
      // make every new data directory 15 MB larger and slower to unpack.
      for (const name of ['template0', 'template1']) {
        await sql`update pg_database set datistemplate = false where datname = ${name}`
        await sql`drop database ${sql(name)}`
      }
      await sql`checkpoint`
    } finally {
      await sql.end({ timeout: 5 })
    }
  } finally {
    await embedded.stop()
  }
  try {
    await Bun.write(file, await new Bun.Archive(archiveEntries(dataDir), { compress: 'gzip' }).bytes())
  } finally {
    rmSync(join(dataDir, '..'), { recursive: true, force: true })
  }
}

if (import.meta.main) {
  const stamp = templateStamp(migrations)
  const current = existsSync(STAMP) ? await Bun.file(STAMP).text() : ''
  if (process.argv.includes('--force') || current !== stamp || !existsSync(TEMPLATE)) {
    const started = performance.now()
    mkdirSync(CACHE_DIR, { recursive: true })
    await buildTemplate(TEMPLATE)
    await Bun.write(STAMP, stamp)
    console.log(`embedded database template built in ${((performance.now() - started) / 1000).toFixed(1)} s: ${TEMPLATE}`)
  }
}
