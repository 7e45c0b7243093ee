import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkedFetch, runMain, startService } from './support/process'

const dataDir = mkdtempSync(join(tmpdir(), 'users-api-process-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

// Without DATABASE_URL: the embedded database, as a new user first runs it.
const embedded = { DATABASE_URL: undefined, DATA_DIR: dataDir, LOG_LEVEL: 'info' }

describe('the service process', () => {
  test('embedded data survives a restart; SIGTERM exits 0', async () => {
    const first = await startService(embedded)
    const created = await checkedFetch(`${first.url}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Persistent Pat', email: 'pat@example.com', age: 44 }),
    })
    expect(created.status).toBe(201)
    const user = (await created.json()) as { id: number }
    expect(await first.stop('SIGTERM')).toBe(0)

    const second = await startService(embedded)
    try {
      const read = await checkedFetch(`${second.url}/users/${user.id}`)
      expect(read.status).toBe(200)
      expect(await read.json()).toEqual(user)
      const again = JSON.parse(second.lines.find((line) => line.includes('"listening"'))!)
      expect(again).toMatchObject({ database: 'embedded', migrations_applied: [] })
    } finally {
      expect(await second.stop('SIGINT')).toBe(0)
    }
  })

  test('migrate applies migrations and exits 0; a second run applies none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'users-api-migrate-'))
    try {
      const env = { ...embedded, DATA_DIR: dir }
      const first = await runMain(['migrate'], env)
      expect(first.code).toBe(0)
      expect(JSON.parse(first.stdout)).toMatchObject({ level: 'info', message: 'migrations applied', applied: ['0001_create_users'] })
      const second = await runMain(['migrate'], env)
      expect(JSON.parse(second.stdout)).toMatchObject({ applied: [] })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('an invalid setting stops start-up with one line naming it', async () => {
    const result = await runMain([], { ...embedded, PORT: 'abc' })
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe('invalid configuration: PORT="abc" must be an integer from 0 to 65535, written in decimal digits\n')
  })

  test('an unknown command prints usage and exits 2', async () => {
    const result = await runMain(['launch'], embedded)
    expect(result.code).toBe(2)
    expect(result.stderr).toStartWith('usage: users-api')
  })
})
