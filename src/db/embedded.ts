import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import { claimDataDir } from './data-dir-claim'
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

/**
 * A new data directory starts as a copy of the template (initdb'd and migrated when it was built),
 * unpacked beside it and renamed into place, so a crash halfway leaves no half-made database.
 * Returns false when there is no template or the directory already holds a database.
 */
const restoreTemplate = async (dataDir: string, template?: string): Promise<boolean> => {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return false
  const archive = template ?? (await templateArchive())
  if (!archive) return false
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) return false
  mkdirSync(dirname(dataDir), { recursive: true })
  const unpacking = mkdtempSync(`${dataDir}.new-`)
  await new Bun.Archive(await Bun.file(archive).bytes()).extract(unpacking)
  rmSync(dataDir, { recursive: true, force: true })
  renameSync(unpacking, dataDir)
  return true
}

/**
 * PGlite with its data in `dataDir`, served on a Unix socket in a fresh private directory, so
 * postgres.js talks to it exactly as to a server. PGlite is single-connection: use `max: 1`.
 */
export const startEmbeddedPostgres = async (dataDir: string, options: EmbeddedOptions = {}): Promise<EmbeddedPostgres> => {
  if (options.fromTemplate !== false) await restoreTemplate(dataDir, options.template)
  mkdirSync(dataDir, { recursive: true })
  const release = claimDataDir(dataDir)
  const db = await PGlite.create({ dataDir, initDbStartParams: options.initdbArgs, ...(await pgliteAssets()) })
  const socketDir = options.socketDir ?? mkdtempSync(join(tmpdir(), 'users-api-'))
  const server = new PGLiteSocketServer({ db, path: embeddedSocketPath(socketDir), maxConnections: 1 })
  await server.start()
  return {
    socketDir,
    port: EMBEDDED_PORT,
    async stop() {
      await server.stop()
      await db.close()
      rmSync(socketDir, { recursive: true, force: true })
      release()
    },
  }
}
