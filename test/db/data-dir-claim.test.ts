import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { claimDataDir, LOCK_FILE } from '../../src/db/data-dir-claim'

const scratch = mkdtempSync(join(tmpdir(), 'users-api-claim-test-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))
const newDir = () => mkdtempSync(join(scratch, 'data-'))

/** A lock as another process wrote it: `where` names its host and PID namespace. */
const lockOf = (dir: string, holder: object, ageMs = 0) => {
  const file = join(dir, LOCK_FILE)
  writeFileSync(file, JSON.stringify({ id: 'theirs', ...holder }))
  const then = new Date(Date.now() - ageMs)
  utimesSync(file, then, then)
  return file
}
const holderIn = (dir: string) => JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))

describe('claimDataDir(dataDir)', () => {
  test('claims a free directory; the release removes its lock', async () => {
    const dir = newDir()
    const release = await claimDataDir(dir)
    expect(holderIn(dir)).toMatchObject({ pid: process.pid })
    release()
    expect(readdirSync(dir)).toEqual([])
  })

  test('here, a live holder is refused at once, by pid; a dead one is taken over', async () => {
    const dir = newDir()
    const ours = await claimDataDir(dir)
    const where = holderIn(dir).where as string
    ours()
    const sleeper = Bun.spawn(['sleep', '30'])
    try {
      lockOf(dir, { where, pid: sleeper.pid })
      const began = performance.now()
      await expect(claimDataDir(dir)).rejects.toThrow(`is in use by a running service (pid ${sleeper.pid}): stop it first, or use its HTTP API`)
      expect(performance.now() - began).toBeLessThan(1000)
    } finally {
      sleeper.kill()
      await sleeper.exited
    }
    const release = await claimDataDir(dir)
    expect(holderIn(dir)).toMatchObject({ where, pid: process.pid })
    release()
  })

  test('from elsewhere (another container), a pid means nothing: a lock kept fresh is refused after waiting, a stale one taken over', async () => {
    const dir = newDir()
    // Pid 1 in another namespace: alive or not, it is no process of ours.
    const file = lockOf(dir, { where: 'other-host/pid:[1]', pid: 1 })
    const keepFresh = setInterval(() => utimesSync(file, new Date(), new Date()), 100)
    try {
      const began = performance.now()
      await expect(claimDataDir(dir, { staleMs: 600 })).rejects.toThrow('is in use by a service elsewhere (another container?) that still keeps it')
      expect(performance.now() - began).toBeGreaterThanOrEqual(600)
    } finally {
      clearInterval(keepFresh)
    }
    expect(holderIn(dir)).toMatchObject({ id: 'theirs' })
    // Not touched for longer than staleMs: its holder is gone.
    lockOf(dir, { where: 'other-host/pid:[1]', pid: 1 }, 5_000)
    const release = await claimDataDir(dir, { staleMs: 600 })
    expect(holderIn(dir)).toMatchObject({ pid: process.pid })
    release()
    expect(readdirSync(dir)).toEqual([])
  })

  test('the release leaves a lock that is no longer ours', async () => {
    const dir = newDir()
    const release = await claimDataDir(dir)
    lockOf(dir, { where: 'other-host/pid:[1]', pid: 1 })
    release()
    expect(holderIn(dir)).toMatchObject({ id: 'theirs' })
  })
})
