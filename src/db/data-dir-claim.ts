import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { isAlive } from '../runtime'

const LOCK_FILE = 'users-api.pid'

/** The data directory is in use by another live process (PGlite would corrupt it). */
class DataDirInUse extends Error {
  override name = 'DataDirInUse'
}

/**
 * Claims `dataDir` for this process: a pid file, ignored when its process is gone (killed).
 * Returns the release.
 */
export const claimDataDir = (dataDir: string) => {
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
