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
import { LOCK_FILE } from './data-dir-claim'
import { startEmbeddedPostgres } from './embedded'
import { migrate } from './migrate'
import { migrations, type Migration } from './migrations'

const CACHE_DIR = join(import.meta.dir, '../../node_modules/.cache/users-api')
const TEMPLATE = join(CACHE_DIR, 'pgdata-template.tgz')
const STAMP = join(CACHE_DIR, 'pgdata-template.stamp')
// 1 MB WAL segments instead of 16: the template, and each copy of it, writes 15 MB less.
const WAL_SEGMENT_BYTES = 1024 * 1024
const WAL_PAGE_BYTES = 8192
const INITDB_ARGS = [`--wal-segsize=${WAL_SEGMENT_BYTES / 1024 / 1024}`]
// Bumped when the archive's contents change for another reason than the above (2: one WAL segment).
const TEMPLATE_FORMAT = 2

/** What the template depends on: PGlite's version, the initdb arguments and every migration. */
const templateStamp = (list: readonly Migration[]) =>
  new Bun.CryptoHasher('sha256').update(JSON.stringify([pglite.version, INITDB_ARGS, TEMPLATE_FORMAT, list])).digest('hex')

const SHUT_DOWN = 1

/**
 * After a clean shutdown, PostgreSQL needs no WAL but the segment holding its last checkpoint;
 * the others in pg_wal are recycled ones kept for later writes (5 of the 6 MB), which every copy
 * would unpack for nothing. The checkpoint's place is read from pg_control (ControlFileData:
 * `state` at byte 16, `checkPoint` at 32, then the checkpoint's copy: `redo` at 40, its timeline at
 * 48). A record that starts in a segment's last page may run on into the next one, which is then
 * kept as well. A template that did not shut down cleanly is refused.
 */
const dropRecycledWal = (dataDir: string) => {
  const control = readFileSync(join(dataDir, 'global/pg_control'))
  if (control.readUInt32LE(16) !== SHUT_DOWN) throw new Error('the template database did not shut down cleanly')
  const hex = (value: bigint | number) => value.toString(16).toUpperCase().padStart(8, '0')
  const timeline = control.readUInt32LE(48)
  const needed = new Set<string>()
  const segmentBytes = BigInt(WAL_SEGMENT_BYTES)
  const checkpoint = control.readBigUInt64LE(32)
  const first = control.readBigUInt64LE(40) / segmentBytes
  const last = checkpoint / segmentBytes + (checkpoint % segmentBytes >= segmentBytes - BigInt(WAL_PAGE_BYTES) ? 1n : 0n)
  const segmentsPerId = 0x1_0000_0000n / segmentBytes
  for (let segment = first; segment <= last; segment++) needed.add(`${hex(timeline)}${hex(segment / segmentsPerId)}${hex(segment % segmentsPerId)}`)
  const wal = join(dataDir, 'pg_wal')
  const segments = readdirSync(wal).filter((name) => /^[0-9A-F]{24}$/.test(name))
  if (!segments.some((name) => needed.has(name))) throw new Error(`pg_wal holds no segment with the checkpoint: ${segments.join(', ')}`)
  for (const name of segments) if (!needed.has(name)) rmSync(join(wal, name))
}

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
    dropRecycledWal(dataDir)
    // The lock is a file of each data directory's own (a copy would replace a held one).
    rmSync(join(dataDir, LOCK_FILE), { force: true })
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
