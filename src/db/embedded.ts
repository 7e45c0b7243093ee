import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
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
const LOCK_FILE = 'users-api.pid'

/** The data directory is in use by another live process (PGlite would corrupt it). */
class DataDirInUse extends Error {
  override name = 'DataDirInUse'
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Claims `dataDir` for this process: a pid file, ignored when its process is gone (killed). */
const claim = (dataDir: string) => {
  const file = join(dataDir, LOCK_FILE)
  let holder = NaN
  try {
    holder = Number(readFileSync(file, 'utf8').trim())
  } catch {}
  if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder))
    throw new DataDirInUse(`the embedded database in ${dataDir} is in use by a running service (pid ${holder}): stop it first, or use its HTTP API`)
  writeFileSync(file, String(process.pid))
  return () => rmSync(file, { force: true })
}

/**
 * PGlite with its data in `dataDir`, served on a Unix socket in a fresh private directory, so
 * postgres.js talks to it exactly as to a server. PGlite is single-connection: use `max: 1`.
 */
export const startEmbeddedPostgres = async (dataDir: string): Promise<EmbeddedPostgres> => {
  mkdirSync(dataDir, { recursive: true })
  const release = claim(dataDir)
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
      release()
    },
  }
}
