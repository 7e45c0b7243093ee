import { describe, expect, test } from 'bun:test'
import { WeakPassword, createOrPromoteAdmin, ensureFirstAdmin, firstAdminSettled } from '../../src/auth/first-admin'
import { createLogger } from '../../src/logger'
import { openFreshDatabase, testDatabase } from '../support/database'
import { AUTH_ON, call, createAccount, expectProblem, strongPassword } from '../support/http'

const capture = () => {
  const lines: Record<string, any>[] = []
  return { lines, logger: createLogger('debug', { write: (line: string) => void lines.push(JSON.parse(line)) }) }
}

describe('the first admin', () => {
  test('ADMIN_EMAIL/ADMIN_PASSWORD: created only while no admin exists, never changing an existing user', async () => {
    const database = await openFreshDatabase()
    try {
      const { sql } = database
      const password = strongPassword()
      const none = capture()
      await ensureFirstAdmin(sql, undefined, none.logger)
      expect(none.lines.map((line) => [line.level, line.message])).toEqual([
        ['warn', 'no admin yet: set ADMIN_EMAIL and ADMIN_PASSWORD, or run `users-api create-admin EMAIL` (`bun run create-admin EMAIL` from source; the password on standard input)'],
      ])
      await sql`insert into users (name, email, age) values ('Taken', 'taken@example.com', 50)`
      const taken = capture()
      await ensureFirstAdmin(sql, { email: 'TAKEN@example.com', password }, taken.logger)
      expect(taken.lines.map((line) => line.level)).toEqual(['warn'])
      expect([...(await sql`select name, age, role, password_hash from users where email = 'taken@example.com'`)]).toEqual([{ name: 'Taken', age: 50, role: 'user', password_hash: null }])
      const made = capture()
      await ensureFirstAdmin(sql, { email: 'root@example.com', password }, made.logger)
      const [root] = await sql<{ id: string; name: string; age: number; role: string }[]>`select id, name, age, role from users where email = 'root@example.com'`
      expect({ ...root }).toEqual({ id: expect.any(String), name: 'Administrator', age: 30, role: 'admin' })
      // Its id, not its email: nothing logged at info holds an email address.
      expect(made.lines).toEqual([expect.objectContaining({ level: 'info', message: 'first admin created', id: Number(root!.id) })])
      expect(JSON.stringify(made.lines)).not.toContain('root@example.com')
      // An admin exists now: nothing more happens, whatever the settings say.
      const again = capture()
      await ensureFirstAdmin(sql, { email: 'other@example.com', password }, again.logger)
      expect(again.lines).toEqual([])
      expect(JSON.stringify([...none.lines, ...taken.lines, ...made.lines])).not.toContain(password)
    } finally {
      await database.close()
    }
  }, 60_000)

  // The workers other than the first wait for it to settle the first admin before they are ready.
  test('the other workers stop waiting once an admin exists, or once the email is a user\'s (no admin is coming)', async () => {
    const database = await openFreshDatabase()
    try {
      const { sql } = database
      const started = Date.now()
      expect(await firstAdminSettled(sql, 'root@example.com', 300)).toBe(false)
      expect(Date.now() - started).toBeGreaterThanOrEqual(300)
      await sql`insert into users (name, email, age) values ('Taken', 'taken@example.com', 50)`
      const taken = Date.now()
      expect(await firstAdminSettled(sql, 'TAKEN@example.com', 5_000)).toBe(true)
      expect(Date.now() - taken).toBeLessThan(1_000)
      expect(await firstAdminSettled(sql, 'root@example.com', 300)).toBe(false)
      await sql`insert into users (name, email, age, role) values ('Admin', 'admin@example.com', 40, 'admin')`
      expect(await firstAdminSettled(sql, 'root@example.com', 5_000)).toBe(true)
    } finally {
      await database.close()
    }
  }, 60_000)

  test('a weak ADMIN_PASSWORD stops start-up with the rule, never the password', async () => {
    // A database without an admin: the suite's has one, and then the setting is not looked at.
    const database = await openFreshDatabase()
    try {
      const weak = ensureFirstAdmin(database.sql, { email: 'weak-admin@example.com', password: 'password12345678' }, capture().logger)
      await expect(weak).rejects.toThrow(new WeakPassword('ADMIN_PASSWORD is too easy to guess: use a longer phrase of unrelated words'))
      expect(await database.sql`select 1 from users`).toHaveLength(0)
      await expect(createOrPromoteAdmin(database.sql, 'weak-admin@example.com', 'password12345678')).rejects.toThrow(
        new WeakPassword('the password is too easy to guess: use a longer phrase of unrelated words'),
      )
    } finally {
      await database.close()
    }
  }, 60_000)

  test.skipIf(!AUTH_ON)('create-admin on an existing user: an admin with the new password; their old tokens end', async () => {
    const { sql } = await testDatabase()
    const account = await createAccount()
    const password = strongPassword()
    const before = await call('GET', `/users/${account.id}`)
    expect(before.headers.get('etag')).toBe(`"${account.id}-1"`)
    // Their own name is no password for them (nor for anyone, but the rule names the user's own).
    const name = (await sql<{ name: string }[]>`update users set name = 'Quantum Giraffe Orbit Lemonade' where id = ${account.id} returning name`)[0]!.name
    await expect(createOrPromoteAdmin(sql, account.email, name.toLowerCase())).rejects.toThrow(new WeakPassword('the password must not be the email or the name'))
    expect(await createOrPromoteAdmin(sql, account.email.toUpperCase(), password)).toBe('promoted')
    // A change like any other: the ETag moves, so a client holding the old one sees the new role.
    const after = await call('GET', `/users/${account.id}`, { headers: { 'if-none-match': `"${account.id}-1"` } })
    expect(after.status).toBe(200)
    expect(after.headers.get('etag')).toBe(`"${account.id}-2"`)
    expect(after.body).toMatchObject({ id: account.id, role: 'admin' })
    expectProblem(await call('GET', '/users/me', { token: account.token }), 401)
    expectProblem(await call('POST', '/auth/refresh', { json: { refresh_token: account.refreshToken }, token: null }), 401)
    const login = await call('POST', '/auth/token', { json: { email: account.email, password }, token: null })
    expect(login.status).toBe(200)
    expect((await call('GET', '/users/me', { token: login.body.access_token })).body).toMatchObject({ id: account.id, role: 'admin' })
    expect(await createOrPromoteAdmin(sql, `new-admin-${Date.now()}@example.com`, password)).toBe('created')
  })
})
