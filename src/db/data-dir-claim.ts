/**
 * The embedded database's directory is opened by one process at a time (PGlite would corrupt it).
 * The claim is a lock file in it, made with an exclusive create, naming its holder and touched
 * every few seconds while held. Within one PID namespace of one host (the holder's pid means the
 * same here) it is free once its process is gone. From elsewhere (another container sharing the
 * volume) a pid says nothing: the lock is free once it has not been touched for `staleMs`.
 */
import { readFileSync, readlinkSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { isAlive } from '../runtime'

/** The lock's name in the data directory (a restore of the template leaves it alone). */
export const LOCK_FILE = 'users-api.lock'
const TOUCH_MS = 2_000
// Far above any pause of the event loop the service can have, so a busy holder is never taken for dead.
const STALE_MS = 15_000

interface Holder {
  id: string
  /** Host name and PID namespace: where `pid` means what it says. */
  where: string
  pid: number
}

/** The data directory is in use by another live process. */
class DataDirInUse extends Error {
  override name = 'DataDirInUse'
}

const pidNamespace = () => {
  try {
    return readlinkSync('/proc/self/ns/pid')
  } catch {
    return ''
  }
}

const readLock = (file: string): { holder: Partial<Holder>; age: number } | undefined => {
  try {
    const age = Date.now() - statSync(file).mtimeMs
    const holder = JSON.parse(readFileSync(file, 'utf8')) as unknown
    return { holder: typeof holder === 'object' && holder !== null ? holder : {}, age }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    // Unreadable or half-written: judged by its age alone.
    return { holder: {}, age: Date.now() - statSync(file, { throwIfNoEntry: false })!.mtimeMs }
  }
}

/**
 * Claims `dataDir` for this process and returns the release. A lock held from another PID
 * namespace is waited for until it is stale (its holder may have just died); one held by a live
 * process here is refused at once.
 */
export const claimDataDir = async (dataDir: string, { staleMs = STALE_MS } = {}): Promise<() => void> => {
  const file = join(dataDir, LOCK_FILE)
  const me: Holder = { id: crypto.randomUUID(), where: `${hostname()}/${pidNamespace()}`, pid: process.pid }
  const giveUpAt = Date.now() + staleMs + TOUCH_MS
  for (;;) {
    try {
      writeFileSync(file, JSON.stringify(me), { flag: 'wx' })
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const lock = readLock(file)
    if (lock === undefined) continue
    const { holder, age } = lock
    const local = holder.where === me.where && typeof holder.pid === 'number'
    const free = local ? holder.pid === process.pid || !isAlive(holder.pid!) : age > staleMs
    if (free) {
      takeOver(file, holder.id, me.id)
      continue
    }
    if (local || Date.now() > giveUpAt) {
      const who = local ? `a running service (pid ${holder.pid})` : 'a service elsewhere (another container?) that still keeps it'
      throw new DataDirInUse(`the embedded database in ${dataDir} is in use by ${who}: stop it first, or use its HTTP API`)
    }
    await Bun.sleep(250)
  }
  const touch = setInterval(() => {
    try {
      const now = new Date()
      utimesSync(file, now, now)
    } catch {}
  }, TOUCH_MS)
  touch.unref()
  return () => {
    clearInterval(touch)
    if (readLock(file)?.holder.id === me.id) rmSync(file, { force: true })
  }
}

/**
 * Moves a dead holder's lock away, unless another claimant replaced it meanwhile (then it is put
 * back): only one of two claimants that found the same dead lock gets to create the next one.
 */
const takeOver = (file: string, deadId: string | undefined, myId: string) => {
  const aside = `${file}.${myId}`
  try {
    renameSync(file, aside)
  } catch {
    return
  }
  const moved = readLock(aside)
  if (moved?.holder.id !== deadId) renameSync(aside, file)
  else rmSync(aside, { force: true })
}
