import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import { pgliteAssets } from './pglite-assets'

export interface EmbeddedPostgres {
  /** The directory holding the Unix socket, as postgres.js wants it in `host`. */
  socketDir: string
  port: number
  stop(): Promise<void>
}

const SOCKET_PORT = 5432

/**
 * PGlite with its data in `dataDir`, served on a Unix socket in a fresh private directory, so
 * postgres.js talks to it exactly as to a server. PGlite is single-connection: use `max: 1`.
 */
export const startEmbeddedPostgres = async (dataDir: string): Promise<EmbeddedPostgres> => {
  mkdirSync(dataDir, { recursive: true })
  const db = await PGlite.create({ dataDir, ...(await pgliteAssets()) })
  const socketDir = mkdtempSync(join(tmpdir(), 'users-api-'))
  const server = new PGLiteSocketServer({ db, path: join(socketDir, `.s.PGSQL.${SOCKET_PORT}`), maxConnections: 1 })
  await server.start()
  return {
    socketDir,
    port: SOCKET_PORT,
    async stop() {
      await server.stop()
      await db.close()
      rmSync(socketDir, { recursive: true, force: true })
    },
  }
}
