import { describe, expect, test } from 'bun:test'
import { AUTH_ON, accountIn, buildApp, call, createAccount, expectProblem, newUser, strongPassword } from '../support/http'
import { openFreshDatabase, serverUrl, testDatabase } from '../support/database'

// Every cell of the access table, for `/users/{id}` and `/users/me`, and the order of the checks.
describe.skipIf(!AUTH_ON)('who may do what', () => {
  const expect401 = (reply: Awaited<ReturnType<typeof call>>, sent: boolean) => {
    expectProblem(reply, 401)
    expect(reply.headers.get('www-authenticate')).toBe(sent ? 'Bearer error="invalid_token"' : 'Bearer')
  }

  test('no token: 401 with WWW-Authenticate: Bearer, on every users operation', async () => {
    const target = await createAccount()
    for (const [method, path, json] of [
      ['GET', '/users', undefined],
      ['POST', '/users', newUser()],
      ['GET', `/users/${target.id}`, undefined],
      ['PATCH', `/users/${target.id}`, { age: 40 }],
      ['DELETE', `/users/${target.id}`, undefined],
      ['GET', '/users/me', undefined],
      ['PATCH', '/users/me', { age: 40 }],
      ['DELETE', '/users/me', undefined],
    ] as const) {
      const reply = await call(method, path, { json, token: null })
      expect401(reply, false)
      expect(reply.body.detail).toBe('A bearer token is required')
    }
    // Still there: nothing was deleted.
    expect((await call('GET', `/users/${target.id}`)).status).toBe(200)
  })

  test('an admin may do anything to anyone, any role included', async () => {
    const other = await createAccount()
    expect((await call('GET', '/users?limit=1')).status).toBe(200)
    expect((await call('GET', `/users/${other.id}`)).body).toMatchObject({ id: other.id, role: 'user' })
    const promoted = await call('PATCH', `/users/${other.id}`, { json: { role: 'admin', name: 'Now Admin' } })
    expect(promoted.status).toBe(200)
    expect(promoted.body).toMatchObject({ id: other.id, role: 'admin', name: 'Now Admin' })
    const created = await call('POST', '/users', { json: newUser({ role: 'admin', password: strongPassword() }) })
    expect(created.status).toBe(201)
    expect(created.body.role).toBe('admin')
    expect(created.body).not.toHaveProperty('password')
    expect((await call('DELETE', `/users/${created.body.id}`)).status).toBe(204)
  })

  test('a user may read, change and delete themself, by id and as /users/me', async () => {
    const self = await createAccount()
    const as = { token: self.token }
    expect((await call('GET', `/users/${self.id}`, as)).body).toMatchObject({ id: self.id, email: self.email, role: 'user' })
    const me = await call('GET', '/users/me', as)
    expect(me.status).toBe(200)
    expect(me.body).toMatchObject({ id: self.id, email: self.email })
    expect((await call('PATCH', `/users/${self.id}`, { ...as, json: { age: 41 } })).body).toMatchObject({ id: self.id, age: 41 })
    expect((await call('PATCH', '/users/me', { ...as, json: { name: 'Me Myself' } })).body).toMatchObject({ id: self.id, name: 'Me Myself', age: 41 })
    expect(expectProblem(await call('PATCH', `/users/${self.id}`, { ...as, json: { role: 'admin' } }), 403).errors).toEqual([{ field: 'role', message: 'may only be set by an admin' }])
    expect((await call('DELETE', '/users/me', as)).status).toBe(204)
    // Deleted: the token's user is gone, so the token is refused.
    expect401(await call('GET', '/users/me', as), true)
    expect((await call('GET', `/users/${self.id}`)).status).toBe(404)
  })

  test('a user may not touch another user, list, or create: 403 from the token alone', async () => {
    const self = await createAccount()
    const other = await createAccount()
    const as = { token: self.token }
    for (const [method, path, json] of [
      ['GET', '/users', undefined],
      ['POST', '/users', newUser()],
      ['GET', `/users/${other.id}`, undefined],
      ['PATCH', `/users/${other.id}`, { age: 40 }],
      ['DELETE', `/users/${other.id}`, undefined],
      // Not an id at all: still not theirs.
      ['GET', '/users/abc', undefined],
    ] as const) {
      const reply = await call(method, path, { ...as, json })
      expect(expectProblem(reply, 403).detail).toBe('You may not do this')
    }
    expect((await call('GET', `/users/${other.id}`)).body.age).toBe(30)
  })

  test('their own id spelled as the route reads it (leading zeros, percent-encoded digits) is theirs; another’s so spelled is not', async () => {
    const self = await createAccount()
    const other = await createAccount()
    for (const path of [`/users/0${self.id}`, `/users/00${self.id}`, `/users/${[...String(self.id)].map((digit) => `%3${digit}`).join('')}`]) {
      const reply = await call('GET', path, { token: self.token })
      expect(reply.status).toBe(200)
      expect(reply.body.id).toBe(self.id)
      expect(reply.headers.get('etag')).toBe(`"${self.id}-1"`)
    }
    for (const path of [`/users/0${other.id}`, `/users/%3${String(other.id)[0]}${String(other.id).slice(1)}`, '/users/%ZZ', '/users/0'])
      expect(expectProblem(await call('GET', path, { token: self.token }), 403).detail).toBe('You may not do this')
  })

  test('other paths under /users are unknown routes (404) for anyone, token or not', async () => {
    const self = await createAccount()
    for (const path of [`/users//${self.id}`, `/users/${self.id}/x`, '/users/me/x', '/usersx'])
      for (const token of [null, self.token, undefined]) expectProblem(await call('GET', path, { token }), 404)
    expect((await call('GET', `/users/${self.id}`)).status).toBe(200)
  })

  test('a user may not set a role, not even their own: 403 naming role', async () => {
    const self = await createAccount()
    const reply = await call('PATCH', '/users/me', { token: self.token, json: { role: 'admin' } })
    expect(expectProblem(reply, 403).errors).toEqual([{ field: 'role', message: 'may only be set by an admin' }])
    expect((await call('GET', `/users/${self.id}`)).body.role).toBe('user')
  })

  test('order: 401 before 400/413/415/422; 403 before them too; 422 before 403 for a field', async () => {
    const self = await createAccount()
    const other = await createAccount()
    // No token, broken JSON, a text body, a bad id: 401 first.
    expect401(await call('POST', '/users', { body: '{', headers: { 'content-type': 'application/json' }, token: null }), false)
    expect401(await call('POST', '/users', { body: 'x', headers: { 'content-type': 'text/plain' }, token: null }), false)
    expect401(await call('PATCH', '/users/abc', { json: {}, token: 'not.a.token' }), true)
    // A user on another user's record with a broken body: 403, the body is never read.
    expectProblem(await call('PATCH', `/users/${other.id}`, { body: '{', headers: { 'content-type': 'application/json' }, token: self.token }), 403)
    expectProblem(await call('PATCH', `/users/${other.id}`, { body: 'x'.repeat(70_000), headers: { 'content-type': 'application/json' }, token: self.token }), 403)
    // Their own record: the request is judged before the field rule.
    const invalid = await call('PATCH', '/users/me', { token: self.token, json: { role: 'admin', age: 'old' } })
    expect(expectProblem(invalid, 422).errors).toEqual([{ field: 'age', message: 'must be a JSON integer' }])
    // The business rule on age (400), then a weak password and a missing current_password (422), then the field (403).
    expect(expectProblem(await call('PATCH', '/users/me', { token: self.token, json: { role: 'admin', age: 500 } }), 400).errors).toEqual([
      { field: 'age', message: 'must be between 1 and 120' },
    ])
    const weak = await call('PATCH', '/users/me', { token: self.token, json: { role: 'admin', password: 'passwordpassword' } })
    expect(expectProblem(weak, 422).errors).toEqual([
      { field: 'password', message: 'is too easy to guess: use a longer phrase of unrelated words' },
      { field: 'current_password', message: 'is required to change your own password' },
    ])
    const stray = await call('PATCH', '/users/me', { token: self.token, json: { role: 'admin', current_password: self.password } })
    expect(expectProblem(stray, 422).errors).toEqual([{ field: 'current_password', message: 'is only accepted with password' }])
    // With the request right, the field is what is refused; nothing changed.
    const refused = await call('PATCH', '/users/me', { token: self.token, json: { role: 'admin', password: strongPassword(), current_password: self.password } })
    expect(expectProblem(refused, 403).errors).toEqual([{ field: 'role', message: 'may only be set by an admin' }])
    const login = await call('POST', '/auth/token', { json: { email: self.email, password: self.password }, token: null })
    expect(login.status).toBe(200)
  })

  test('before the migrations (an upgrade under way, the tables not there): /auth/* and a token not seen before get 503, not 500', async () => {
    const database = await openFreshDatabase({ migrated: false })
    try {
      const app = buildApp(database.sql, {}, { migrated: false, draining: false })
      const replies = [
        await call('POST', '/auth/token', { json: { email: 'ada@example.com', password: strongPassword() }, token: null }, app),
        await call('POST', '/auth/refresh', { json: { refresh_token: 'x'.repeat(43) }, token: null }, app),
        await call('POST', '/auth/logout', { json: { refresh_token: 'x'.repeat(43) }, token: null }, app),
        await call('GET', '/users/1', { token: 'a.b.c' }, app),
      ]
      for (const reply of replies) {
        expect(expectProblem(reply, 503).detail).toBe('The database is not ready yet; try again shortly')
        expect(reply.headers.get('retry-after')).toBe('5')
      }
      expect(replies.slice(0, 3).map((reply) => reply.headers.get('cache-control'))).toEqual(['no-store', 'no-store', 'no-store'])
      // What needs no database is answered as ever.
      expect401(await call('GET', '/users/1', { token: null }, app), false)
      expect(expectProblem(await call('POST', '/auth/token', { json: {}, token: null }, app), 503).detail).toBe('The database is not ready yet; try again shortly')
    } finally {
      await database.close()
    }
  })

  test('the last admin cannot be demoted or deleted (409); an admin demoted first has a stale token (401)', async () => {
    const database = await openFreshDatabase()
    try {
      const app = buildApp(database.sql)
      const [first, second] = [await accountIn(database.sql, app, 'admin'), await accountIn(database.sql, app, 'admin')]
      // One after the other (at the same moment: the test on a PostgreSQL server below).
      const demoted = await call('PATCH', `/users/${second.id}`, { token: first.token, json: { role: 'user' } }, app)
      expect([demoted.status, demoted.body.role]).toEqual([200, 'user'])
      expect(expectProblem(await call('PATCH', `/users/${first.id}`, { token: second.token, json: { role: 'user' } }, app), 401).detail).toBe('The bearer token is not valid')
      const admins = await database.sql`select id from users where role = 'admin'`
      expect(admins.map((row) => Number(row.id))).toEqual([first.id])
      const last = first.id
      const lastToken = first.token
      expectProblem(await call('DELETE', `/users/${last}`, { token: lastToken }, app), 409)
      expectProblem(await call('DELETE', '/users/me', { token: lastToken }, app), 409)
      const demoteSelf = await call('PATCH', '/users/me', { token: lastToken, json: { role: 'user' } }, app)
      expect(expectProblem(demoteSelf, 409).detail).toBe('The last admin cannot be removed or demoted')
      expect((await database.sql`select count(*)::int as n from users where role = 'admin'`)[0]!.n).toBe(1)
    } finally {
      await database.close()
    }
  }, 60_000)

  test('a user deletes themself by id: 204, and their token dies with them', async () => {
    const self = await createAccount()
    const deleted = await call('DELETE', `/users/${self.id}`, { token: self.token })
    expect(deleted.status).toBe(204)
    expect(deleted.text).toBe('')
    expect401(await call('GET', '/users/me', { token: self.token }), true)
    expect(expectProblem(await call('GET', `/users/${self.id}`), 404).detail).toBe('User not found')
  })

  test('an admin on /users/me: reads, changes and deletes themself (another admin remaining)', async () => {
    const admin = await createAccount('admin')
    const as = { token: admin.token }
    const me = await call('GET', '/users/me', as)
    expect(me.status).toBe(200)
    expect(me.body).toEqual({ ...me.body, id: admin.id, email: admin.email, role: 'admin' })
    expect(me.headers.get('etag')).toBe(`"${admin.id}-1"`)
    const changed = await call('PATCH', '/users/me', { ...as, json: { age: 55 } })
    expect(changed.status).toBe(200)
    expect(changed.body).toEqual({ ...me.body, age: 55, updated_at: changed.body.updated_at })
    expect(changed.headers.get('etag')).toBe(`"${admin.id}-2"`)
    const deleted = await call('DELETE', '/users/me', as)
    expect(deleted.status).toBe(204)
    expect(deleted.text).toBe('')
    expect(expectProblem(await call('GET', `/users/${admin.id}`), 404).detail).toBe('User not found')
  })

  test('a demoted or deleted admin’s token is refused (401) on every operation, and changes nothing', async () => {
    const { sql } = await testDatabase()
    const demoted = await createAccount('admin')
    const removed = await createAccount('admin')
    const victim = await createAccount()
    expect((await call('PATCH', `/users/${demoted.id}`, { json: { role: 'user' } })).status).toBe(200)
    expect((await call('DELETE', `/users/${removed.id}`)).status).toBe(204)
    const email = `stale-${victim.id}@example.com`
    for (const stale of [demoted, removed])
      for (const [method, path, json] of [
        ['GET', '/users?limit=1', undefined],
        ['POST', '/users', newUser({ email })],
        ['PATCH', `/users/${victim.id}`, { age: 99 }],
        ['DELETE', `/users/${victim.id}`, undefined],
      ] as const) {
        const reply = await call(method, path, { token: stale.token, json })
        expect([method, path, expectProblem(reply, 401).detail]).toEqual([method, path, 'The bearer token is not valid'])
        expect(reply.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
      }
    const after = await call('GET', `/users/${victim.id}`)
    expect([after.status, after.body.age, after.headers.get('etag')]).toEqual([200, 30, `"${victim.id}-1"`])
    expect(await sql`select 1 from users where email = ${email}`).toHaveLength(0)
  })

  test.skipIf(!serverUrl)('two admins demoting each other at the same moment: one 200, one 409 (PostgreSQL server)', async () => {
    const database = await openFreshDatabase()
    try {
      const app = buildApp(database.sql)
      const [first, second] = [await accountIn(database.sql, app, 'admin'), await accountIn(database.sql, app, 'admin')]
      // A third transaction holds both rows while both statements start: they run at once.
      const holder = await database.sql.reserve()
      let replies: Awaited<ReturnType<typeof call>>[]
      try {
        await holder`begin`
        await holder`select 1 from users where id in (${first.id}, ${second.id}) for update`
        const pending = Promise.all([
          call('PATCH', `/users/${second.id}`, { token: first.token, json: { role: 'user' } }, app),
          call('PATCH', `/users/${first.id}`, { token: second.token, json: { role: 'user' } }, app),
        ])
        await Bun.sleep(500)
        await holder`rollback`
        replies = await pending
      } finally {
        holder.release()
      }
      expect(replies.map((reply) => reply.status).sort()).toEqual([200, 409])
      expect(expectProblem(replies.find((reply) => reply.status === 409)!, 409).detail).toBe('The last admin cannot be removed or demoted')
      expect((await database.sql`select count(*)::int as n from users where role = 'admin'`)[0]!.n).toBe(1)
    } finally {
      await database.close()
    }
  }, 60_000)

  test('with rate limiting on, requests refused 401 are counted and carry its headers', async () => {
    // A day's window: three requests cannot straddle its end.
    const app = buildApp((await testDatabase()).sql, { rateLimit: 2, rateLimitWindow: 86_400 })
    const replies = [await call('GET', '/users', { token: null }, app), await call('GET', '/users', { token: null }, app), await call('GET', '/users', { token: null }, app)]
    expect(replies.map((reply) => reply.status)).toEqual([401, 401, 429])
    expect(replies.map((reply) => reply.headers.get('ratelimit-policy'))).toEqual(['"default";q=2;w=86400', '"default";q=2;w=86400', '"default";q=2;w=86400'])
    expect(replies.map((reply) => /^"default";r=(\d+);t=\d+$/.exec(reply.headers.get('ratelimit') ?? '')?.[1])).toEqual(['1', '0', '0'])
  })

  test('with rate limiting on, /auth/* says no-store on its 429 too (refused before the route is known)', async () => {
    const app = buildApp((await testDatabase()).sql, { rateLimit: 1, rateLimitWindow: 86_400 })
    const refresh = () => call('POST', '/auth/refresh', { json: { refresh_token: 'x'.repeat(43) }, token: null }, app)
    const replies = [await refresh(), await refresh()]
    expect(replies.map((reply) => reply.status)).toEqual([401, 429])
    expect(replies.map((reply) => reply.headers.get('cache-control'))).toEqual(['no-store', 'no-store'])
    expect(expectProblem(replies[1]!, 429).detail).toBe('Too many requests from this client; slow down')
  })
})
