import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import { claimDataDir, LOCK_FILE } from './data-dir-claim'
import { EMBEDDED_PORT, embeddedSocketPath } from './embedded-socket'
import { pgliteAssets } from './pglite-assets'
import { templateArchive } from './template-file'

export interface EmbeddedPostgres {
  /** The directory holding the Unix socket, as postgres.js wants it in `host`. */
  socketDir: string
  port: number
  stop(): Promise<void>
}

export interface EmbeddedOptions {
  /** False: a new database runs initdb even when a template exists (how the template is made). */
  fromTemplate?: boolean
  /** The archive a new database is copied from. Default: the one `bun install` built. */
  template?: string
  /** Extra initdb arguments for a new database made without the template. */
  initdbArgs?: string[]
  /** The directory for the socket (it must exist). Default: a new private one, removed on stop. */
  socketDir?: string
}

// What a restore puts in the data directory while it runs: the files are unpacked here, then moved
// up, `PG_VERSION` last (a directory with it is a database); the marker says a restore began.
const STAGING = '.template-restore'
const MARKER = '.template-restore-began'

/**
 * A new data directory starts as a copy of the template (initdb'd and migrated when it was built),
 * unpacked inside it (the directory may be a volume's mount point, in a parent this user cannot
 * write) and moved into place. A restore that stopped halfway is recognised by its marker and
 * done again. Returns false when there is no template or the directory holds anything else.
 */
const restoreTemplate = async (dataDir: string, template?: string): Promise<boolean> => {
  const ours = new Set([LOCK_FILE, STAGING, MARKER])
  if (existsSync(join(dataDir, 'PG_VERSION'))) {
    for (const name of [STAGING, MARKER]) rmSync(join(dataDir, name), { recursive: true, force: true })
    return false
  }
  const archive = template ?? (await templateArchive())
  if (!archive) return false
  const others = readdirSync(dataDir).filter((name) => !ours.has(name))
  const halfDone = existsSync(join(dataDir, MARKER))
  if (others.length > 0 && !halfDone) return false
  for (const name of [...others, STAGING]) rmSync(join(dataDir, name), { recursive: true, force: true })
  writeFileSync(join(dataDir, MARKER), '')
  const staging = join(dataDir, STAGING)
  await new Bun.Archive(await Bun.file(archive).bytes()).extract(staging)
  // Never the lock (a template made before it was left out): replacing the file would drop the hold.
  const names = readdirSync(staging)
    .filter((name) => name !== LOCK_FILE)
    .sort((a, b) => Number(a === 'PG_VERSION') - Number(b === 'PG_VERSION'))
  for (const name of names) renameSync(join(staging, name), join(dataDir, name))
  rmSync(staging, { recursive: true, force: true })
  rmSync(join(dataDir, MARKER), { force: true })
  return true
}

/**
 * PGlite with its data in `dataDir`, served on a Unix socket in a fresh private directory, so
 * postgres.js talks to it exactly as to a server. PGlite is single-connection: use `max: 1`.
 */
export const startEmbeddedPostgres = async (dataDir: string, options: EmbeddedOptions = {}): Promise<EmbeddedPostgres> => {
  try {
    mkdirSync(dataDir, { recursive: true })
  } catch (error) {
    // Named as the operator set it: the system's message alone (`EEXIST: file already exists, mkdir …`) does not say which setting.
    throw new Error(`DATA_DIR="${dataDir}" cannot hold the embedded database: ${(error as NodeJS.ErrnoException).code ?? 'not a directory it may create'}`)
  }
  const release = claimDataDir(dataDir)
  let db: PGlite
  try {
    if (options.fromTemplate !== false) await restoreTemplate(dataDir, options.template)
    db = await PGlite.create({ dataDir, initDbStartParams: options.initdbArgs, ...(await pgliteAssets()) })
  } catch (error) {
    release()
    throw error
  }
  const socketDir = options.socketDir ?? mkdtempSync(join(tmpdir(), 'users-api-'))
  const removeSocketDir = () => rmSync(socketDir, { recursive: true, force: true })
  // A process that exits without stopping (a failed start-up's exit 1) leaves no directory behind.
  process.once('exit', removeSocketDir)
  const server = new PGLiteSocketServer({ db, path: embeddedSocketPath(socketDir), maxConnections: 1 })
  await server.start()
  return {
    socketDir,
    port: EMBEDDED_PORT,
    async stop() {
      await server.stop()
      await db.close()
      process.off('exit', removeSocketDir)
      removeSocketDir()
      release()
    },
  }
}
