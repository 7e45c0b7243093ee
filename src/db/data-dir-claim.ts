/**
 * The embedded database's directory is opened by one process at a time (PGlite would corrupt it).
 * The claim is an exclusive `flock` on a file in it, held while the process keeps that file open:
 * the kernel drops it when the process ends, however it ends, and it holds between containers
 * sharing the volume, where a pid means nothing and a process may be stopped for any time (PGlite
 * runs a query on the JavaScript thread) without losing it. The file names its holder, for the
 * message a refused claim gives.
 */
import { dlopen, FFIType } from 'bun:ffi'
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'

/** The lock's name in the data directory (a restore of the template leaves it alone). */
export const LOCK_FILE = 'users-api.lock'
const LOCK_EX = 2
const LOCK_NB = 4

/** The data directory is in use by another live process. */
class DataDirInUse extends Error {
  override name = 'DataDirInUse'
}

let flock: ((fd: number, operation: number) => number) | undefined
const flockOf = () => {
  if (flock) return flock
  for (const library of ['libc.so.6', 'libc.so', 'libSystem.B.dylib']) {
    try {
      const { symbols } = dlopen(library, { flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } })
      return (flock = (fd, operation) => symbols.flock(fd, operation))
    } catch {}
  }
  throw new Error('the embedded database directory cannot be locked here: no C library with flock was found')
}

/** Claims `dataDir` for this process, or throws at once if another holds it; returns the release. */
export const claimDataDir = (dataDir: string) => {
  const file = join(dataDir, LOCK_FILE)
  const fd = openSync(file, 'a+')
  if (flockOf()(fd, LOCK_EX | LOCK_NB) !== 0) {
    closeSync(fd)
    const holder = readFileSync(file, 'utf8').trim() || 'another process'
    throw new DataDirInUse(`the embedded database in ${dataDir} is in use by ${holder}: stop it first`)
  }
  ftruncateSync(fd, 0)
  writeSync(fd, `a running service (pid ${process.pid} on ${hostname()})`)
  // Closing the file drops the lock (the file stays: a new one would be another lock).
  return () => closeSync(fd)
}
