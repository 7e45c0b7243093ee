import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { claimDataDir } from '../../src/db/data-dir-claim'

const scratch = mkdtempSync(join(tmpdir(), 'users-api-claim-test-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))
const newDir = () => mkdtempSync(join(scratch, 'data-'))

const CLAIM = new URL('../../src/db/data-dir-claim.ts', import.meta.url).pathname
/** Another process holding `dir` until killed; `prefix` runs it elsewhere (e.g. in another PID namespace). */
const holder = async (dir: string, prefix: string[] = []) => {
  const child = Bun.spawn([...prefix, process.execPath, '-e', `require(${JSON.stringify(CLAIM)}).claimDataDir(${JSON.stringify(dir)}); console.log('held'); setInterval(() => {}, 1000)`], {
    stdout: 'pipe',
    stderr: 'ignore',
  })
  const reader = child.stdout.getReader()
  const { value } = await reader.read()
  expect(new TextDecoder().decode(value)).toBe('held\n')
  return child
}

// unshare(1) needs root: the container case (every service pid 1, in a PID namespace of its own).
const canUnshare = process.getuid?.() === 0 && Bun.which('unshare') !== null

describe('claimDataDir(dataDir)', () => {
  test('a free directory is claimed; once released it can be claimed again; a second claim while held is refused', () => {
    const dir = newDir()
    const release = claimDataDir(dir)
    expect(() => claimDataDir(dir)).toThrow(`the embedded database in ${dir} is in use by a running service (pid ${process.pid} on `)
    release()
    claimDataDir(dir)()
  })

  test('held by another process: refused at once, naming it; free the moment it ends, however it ends', async () => {
    const dir = newDir()
    const child = await holder(dir)
    expect(() => claimDataDir(dir)).toThrow(`is in use by a running service (pid ${child.pid} on `)
    child.kill('SIGKILL')
    await child.exited
    claimDataDir(dir)()
  })

  test.skipIf(!canUnshare)('two containers: each service is pid 1 in a PID namespace of its own, and the second is still refused', async () => {
    const dir = newDir()
    const inNamespace = ['unshare', '--pid', '--fork', '--kill-child']
    const child = await holder(dir, inNamespace)
    try {
      const script = `try { require(${JSON.stringify(CLAIM)}).claimDataDir(${JSON.stringify(dir)}); console.log('claimed') } catch (error) { console.log(error.message) }`
      const second = Bun.spawnSync([...inNamespace, process.execPath, '-e', script])
      expect(second.stdout.toString()).toStartWith(`the embedded database in ${dir} is in use by a running service (pid 1 on `)
    } finally {
      child.kill('SIGKILL')
      await child.exited
    }
  })
})
