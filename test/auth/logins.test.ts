import { describe, expect, test } from 'bun:test'
import { unlockEmail } from '../../src/auth/first-admin'
import { HASH_QUEUE_LIMIT, createHasher } from '../../src/auth/passwords'
import { refreshTokenHash } from '../../src/auth/tokens'
import { serverUrl, testDatabase } from '../support/database'
import { AUTH_ON, buildApp, call, createAccount, expectProblem, logLines, newUser, strongPassword, suiteAdminToken, unique } from '../support/http'

const form = (fields: Record<string, string>) => ({
  body: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  token: null,
})
const login = (email: string, password: string) => call('POST', '/auth/token', { json: { email, password }, token: null })

describe.skipIf(!AUTH_ON)('logging in', () => {
  test('JSON or an OAuth 2.0 password-grant form: a token pair, Cache-Control: no-store', async () => {
    const account = await createAccount()
    for (const reply of [
      await login(account.email.toUpperCase(), account.password),
      await call('POST', '/auth/token', form({ grant_type: 'password', username: account.email, password: account.password })),
    ]) {
      expect(reply.status).toBe(200)
      expect(reply.headers.get('cache-control')).toBe('no-store')
      expect(reply.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, refresh_token: expect.any(String) })
      expect(Buffer.from(reply.body.refresh_token, 'base64url').length).toBeGreaterThanOrEqual(32)
      expect((await call('GET', '/users/me', { token: reply.body.access_token })).body.id).toBe(account.id)
    }
    const badGrant = await call('POST', '/auth/token', form({ grant_type: 'client_credentials', username: account.email, password: 'x' }))
    expect(expectProblem(badGrant, 422).errors).toEqual([{ field: 'grant_type', message: 'must be one of password, refresh_token' }])
    expect(badGrant.headers.get('cache-control')).toBe('no-store')
    // A form without a grant is judged as a login: every violation is listed.
    const bare = await call('POST', '/auth/token', form({ username: 'not an email', password: '' }))
    expect(expectProblem(bare, 422).errors!.map(({ field }) => field)).toEqual(['grant_type', 'username', 'password'])
    const plain = await call('POST', '/auth/token', { body: 'email=a', headers: { 'content-type': 'text/plain' }, token: null })
    // Here a form is taken too, and the answer says so.
    expect(expectProblem(plain, 415).detail).toBe('The request body must be JSON (Content-Type: application/json) or a form (application/x-www-form-urlencoded)')
    const broken = await call('POST', '/auth/token', { body: '{', headers: { 'content-type': 'application/json' }, token: null })
    expect(expectProblem(broken, 400).detail).toBe('The request body is not valid JSON')
    expect([plain.headers.get('cache-control'), broken.headers.get('cache-control')]).toEqual(['no-store', 'no-store'])
  })

  test('a form that is not one: 400, and no failed login counted (a malformed or non-UTF-8 escape, a parameter twice)', async () => {
    const account = await createAccount()
    const raw = (body: string) => call('POST', '/auth/token', { body, headers: { 'content-type': 'application/x-www-form-urlencoded' }, token: null })
    const user = `grant_type=password&username=${encodeURIComponent(account.email)}`
    for (const body of [`${user}&password=%ZZ`, `${user}&password=%FF%FE`, `${user}&password=abc%`, `${user}&password=%ED%A0%80`, `grant_type=password&${user}&password=x`, `${user}&password=x&password=y`]) {
      const reply = await raw(body)
      expect([body, expectProblem(reply, 400).detail]).toEqual([body, 'The request body is not a valid form'])
    }
    // Escapes, `+` for a space, an empty pair and a name without `=` are read as ever.
    const password = encodeURIComponent(account.password).replaceAll('%20', '+')
    const ok = await raw(`&${user}&&password=${password}&scope`)
    expect(ok.status).toBe(200)
    expect(ok.body.token_type).toBe('Bearer')
    // None of the refused bodies counted as a failed login: five would throttle the pair.
    const wrong = await raw(`${user}&password=not+the+password+at+all`)
    expect(expectProblem(wrong, 401).detail).toBe('Wrong email or password')
    expect((await login(account.email, account.password)).status).toBe(200)
  })

  test('a wrong password, an unknown email and an account without a password get the same 401', async () => {
    const account = await createAccount()
    const { sql } = await testDatabase()
    const passwordless = `nopass-${unique()}@example.com`
    await sql`insert into users (name, email, age) values ('No Pass', ${passwordless}, 30)`
    const replies = [await login(account.email, 'wrong password, certainly'), await login(`nobody-${unique()}@example.com`, 'whatever it is'), await login(passwordless, 'whatever it is')]
    for (const reply of replies) {
      expect(reply.status).toBe(401)
      expect(reply.headers.get('www-authenticate')).toBe('Bearer')
      expect(reply.headers.get('cache-control')).toBe('no-store')
    }
    expect(new Set(replies.map((reply) => reply.text)).size).toBe(1)
    expect(replies[0]!.body.detail).toBe('Wrong email or password')
  })

  test('refresh: a new pair, the old token retired; reusing it revokes the whole family', async () => {
    const account = await createAccount()
    const first = await call('POST', '/auth/refresh', { json: { refresh_token: account.refreshToken }, token: null })
    expect(first.status).toBe(200)
    expect(first.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, refresh_token: expect.any(String) })
    expect(first.headers.get('cache-control')).toBe('no-store')
    expect(first.body.refresh_token).not.toBe(account.refreshToken)
    expect((await call('GET', '/users/me', { token: first.body.access_token })).status).toBe(200)
    // The retired token again: refused, and its family (the new token too) is revoked.
    const reuse = await call('POST', '/auth/refresh', { json: { refresh_token: account.refreshToken }, token: null })
    expect(expectProblem(reuse, 401).detail).toBe('The refresh token is not valid')
    expectProblem(await call('POST', '/auth/refresh', { json: { refresh_token: first.body.refresh_token }, token: null }), 401)
    expectProblem(await call('POST', '/auth/refresh', { json: { refresh_token: 'x'.repeat(43) }, token: null }), 401)
    expect(expectProblem(await call('POST', '/auth/refresh', { json: {}, token: null }), 422).errors).toEqual([{ field: 'refresh_token', message: 'is required' }])
  })

  test('one refresh token used several times at once: one new pair, and the others revoke it too', async () => {
    const account = await createAccount()
    const replies = await Promise.all(Array.from({ length: 8 }, () => call('POST', '/auth/refresh', { json: { refresh_token: account.refreshToken }, token: null })))
    const won = replies.filter((reply) => reply.status === 200)
    expect(won).toHaveLength(1)
    for (const lost of replies.filter((reply) => reply.status !== 200)) expect(expectProblem(lost, 401).detail).toBe('The refresh token is not valid')
    // Reuse was seen: the winner's new refresh token is dead as well.
    expectProblem(await call('POST', '/auth/refresh', { json: { refresh_token: won[0]!.body.refresh_token }, token: null }), 401)
  })

  test.skipIf(!serverUrl)('the same, with the winner held up: the losers still revoke its new refresh token (PostgreSQL server)', async () => {
    const account = await createAccount()
    const { sql } = await testDatabase()
    // Storing a refresh token checks its user's row: a lock on that row holds the winner up
    // after it has retired the old token.
    const holder = await sql.reserve()
    let replies: Awaited<ReturnType<typeof call>>[]
    try {
      await holder`begin`
      await holder`select 1 from users where id = ${account.id} for update`
      const pending = Promise.all(Array.from({ length: 4 }, () => call('POST', '/auth/refresh', { json: { refresh_token: account.refreshToken }, token: null })))
      await Bun.sleep(500)
      await holder`rollback`
      replies = await pending
    } finally {
      holder.release()
    }
    const won = replies.filter((reply) => reply.status === 200)
    expect(won).toHaveLength(1)
    expectProblem(await call('POST', '/auth/refresh', { json: { refresh_token: won[0]!.body.refresh_token }, token: null }), 401)
  })

  // The log-in checked the password, then stored its refresh token: a password change (or a
  // deletion) under way meanwhile left it a token the change never revoked (or a 500, its user
  // gone). The store now waits for the user's row and finds the change.
  test.skipIf(!serverUrl)('a log-in racing a password change or a deletion of its user: 401, no refresh token stored (PostgreSQL server)', async () => {
    const { sql } = await testDatabase()
    const raced = async (change: (holder: Awaited<ReturnType<typeof sql.reserve>>, id: number) => Promise<unknown>) => {
      const account = await createAccount()
      const holder = await sql.reserve()
      try {
        await holder`begin`
        await change(holder, account.id)
        const loggingIn = login(account.email, account.password)
        // Long enough for the password check (an argon2id hash) to end and the store to wait.
        await Bun.sleep(700)
        await holder`commit`
        const reply = await loggingIn
        const [row] = await sql<{ stored: number }[]>`select count(*)::int as stored from refresh_tokens where user_id = ${account.id} and revoked_at is null`
        return { reply, stored: row!.stored }
      } finally {
        holder.release()
      }
    }
    // As a password change does it (the service's statement revokes what it sees, before the log-in's token).
    const changed = await raced((holder, id) => holder`update users set token_version = token_version + 1, password_hash = 'replaced' where id = ${id}`)
    expect(expectProblem(changed.reply, 401).detail).toBe('Wrong email or password')
    // The account's own log-in (by createAccount) is the one left: nothing new.
    expect(changed.stored).toBe(1)
    const deleted = await raced((holder, id) => holder`delete from users where id = ${id}`)
    expect(expectProblem(deleted.reply, 401).detail).toBe('Wrong email or password')
    expect(deleted.stored).toBe(0)
  })

  test.skipIf(!serverUrl)('a log-in that stored its token while a password change waited for the row: revoked all the same (PostgreSQL server)', async () => {
    const { sql } = await testDatabase()
    const account = await createAccount()
    const token = `raced-${crypto.randomUUID()}`
    const holder = await sql.reserve()
    let changed: Awaited<ReturnType<typeof call>>
    try {
      // As a log-in's store does: the user's row share-locked, the token stored, then committed.
      await holder`begin`
      await holder`select 1 from users where id = ${account.id} for share`
      const changing = call('PATCH', `/users/${account.id}`, { token: await suiteAdminToken(), json: { password: strongPassword() } })
      // The change's statement has begun (its view of the tokens taken) and waits for the row.
      let waiting = false
      for (let tries = 0; tries < 100 && !waiting; tries++) {
        const [row] = await sql<{ n: number }[]>`
          select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%update users set%'`
        waiting = row!.n > 0
        if (!waiting) await Bun.sleep(50)
      }
      expect(waiting).toBe(true)
      await holder`
        insert into refresh_tokens (token_hash, family, user_id, expires_at)
        values (${refreshTokenHash(token)}, ${crypto.randomUUID()}, ${account.id}, clock_timestamp() + interval '1 hour')`
      await holder`commit`
      changed = await changing
    } finally {
      holder.release()
    }
    expect(changed.status).toBe(200)
    expect(expectProblem(await call('POST', '/auth/refresh', { json: { refresh_token: token }, token: null }), 401).detail).toBe('The refresh token is not valid')
    expectProblem(await call('POST', '/auth/refresh', { json: { refresh_token: account.refreshToken }, token: null }), 401)
  })

  test.skipIf(!serverUrl)('a logout or a reuse racing a refresh: the successor the refresh was storing is dead too (PostgreSQL server)', async () => {
    const { sql } = await testDatabase()
    const refresh = (token: string) => call('POST', '/auth/refresh', { json: { refresh_token: token }, token: null })
    // The refresh has retired its token and holds its row while a lock on the user's row holds up
    // the successor's insert; `racer` then waits on the retired token's row, and goes on after.
    const race = async (userId: number, token: string, racer: () => Promise<Awaited<ReturnType<typeof call>>>) => {
      const holder = await sql.reserve()
      try {
        await holder`begin`
        await holder`select 1 from users where id = ${userId} for update`
        const refreshed = refresh(token)
        await Bun.sleep(300)
        const raced = racer()
        await Bun.sleep(300)
        await holder`rollback`
        return [await refreshed, await raced] as const
      } finally {
        holder.release()
      }
    }
    const loggedOut = await createAccount()
    const [renewed, out] = await race(loggedOut.id, loggedOut.refreshToken!, () => call('POST', '/auth/logout', { json: { refresh_token: loggedOut.refreshToken }, token: null }))
    expect([renewed.status, out.status]).toEqual([200, 204])
    expect(expectProblem(await refresh(renewed.body.refresh_token), 401).detail).toBe('The refresh token is not valid')

    const reused = await createAccount()
    const second = await refresh(reused.refreshToken!)
    expect(second.status).toBe(200)
    const [third, replay] = await race(reused.id, second.body.refresh_token, () => refresh(reused.refreshToken!))
    expect([third.status, replay.status]).toEqual([200, 401])
    expect(expectProblem(await refresh(third.body.refresh_token), 401).detail).toBe('The refresh token is not valid')
  })

  test('the OAuth 2.0 refresh grant is a form to the token endpoint; /auth/refresh and /auth/logout take JSON only (a form: 415, spending nothing)', async () => {
    const account = await createAccount()
    for (const path of ['/auth/refresh', '/auth/logout']) {
      const refused = await call('POST', path, form({ grant_type: 'refresh_token', refresh_token: account.refreshToken! }))
      expect(expectProblem(refused, 415).detail).toBe('The request body must be JSON, sent with Content-Type: application/json')
      expect(refused.headers.get('cache-control')).toBe('no-store')
    }
    const renewed = await call('POST', '/auth/token', form({ grant_type: 'refresh_token', refresh_token: account.refreshToken! }))
    expect(renewed.status).toBe(200)
    expect(renewed.headers.get('cache-control')).toBe('no-store')
    expect(renewed.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, refresh_token: expect.any(String) })
    expect((await call('GET', '/users/me', { token: renewed.body.access_token })).body.id).toBe(account.id)
    // Single use, as at /auth/refresh: the old one again revokes the login, the new one with it.
    expect(expectProblem(await call('POST', '/auth/token', form({ grant_type: 'refresh_token', refresh_token: account.refreshToken! })), 401).detail).toBe('The refresh token is not valid')
    expect((await call('POST', '/auth/refresh', { json: { refresh_token: renewed.body.refresh_token }, token: null })).status).toBe(401)
    // The refresh grant's own fields: a password grant's are not allowed, its token is required.
    const mixed = await call('POST', '/auth/token', form({ grant_type: 'refresh_token', username: account.email }))
    expect(expectProblem(mixed, 422).errors).toEqual([
      { field: 'refresh_token', message: 'is required' },
      { field: 'username', message: 'is not allowed' },
    ])
  })

  test('an expired refresh token is refused (401), and changes nothing', async () => {
    const account = await createAccount()
    const { sql } = await testDatabase()
    await sql`update refresh_tokens set expires_at = clock_timestamp() - interval '1 second' where token_hash = ${refreshTokenHash(account.refreshToken!)}`
    // Another token of the family still lives, so no sweep deletes the family meanwhile.
    await sql`insert into refresh_tokens (token_hash, family, user_id, expires_at)
              select ${Buffer.from(crypto.getRandomValues(new Uint8Array(32)))}, family, user_id, clock_timestamp() + interval '1 day'
              from refresh_tokens where token_hash = ${refreshTokenHash(account.refreshToken!)}`
    const expired = await call('POST', '/auth/refresh', { json: { refresh_token: account.refreshToken }, token: null })
    expect(expectProblem(expired, 401).detail).toBe('The refresh token is not valid')
    expect(expired.headers.get('www-authenticate')).toBe('Bearer')
    const [row] = await sql`select retired_at, revoked_at from refresh_tokens where token_hash = ${refreshTokenHash(account.refreshToken!)}`
    expect({ ...row }).toEqual({ retired_at: null, revoked_at: null })
  })

  test('logout revokes the family: 204, then the refresh token is refused', async () => {
    const account = await createAccount()
    const out = await call('POST', '/auth/logout', { json: { refresh_token: account.refreshToken }, token: null })
    expect(out.status).toBe(204)
    expect(out.text).toBe('')
    expect(out.headers.get('cache-control')).toBe('no-store')
    expect(expectProblem(await call('POST', '/auth/refresh', { json: { refresh_token: account.refreshToken }, token: null }), 401).detail).toBe('The refresh token is not valid')
    const unknown = await call('POST', '/auth/logout', { json: { refresh_token: 'y'.repeat(43) }, token: null })
    expect(expectProblem(unknown, 401).detail).toBe('The refresh token is not valid')
    expect(unknown.headers.get('www-authenticate')).toBe('Bearer')
    expect(unknown.headers.get('cache-control')).toBe('no-store')
  })

  test('5 failures for one email from one client: 429 with Retry-After, even with the right password; unlock ends it', async () => {
    const account = await createAccount()
    for (let i = 0; i < 5; i++) expectProblem(await login(account.email, `wrong guess number ${i}`), 401)
    const throttled = await login(account.email, account.password)
    expect(expectProblem(throttled, 429).detail).toBe('Too many failed logins; try again later')
    const retryAfter = Number(throttled.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(800)
    expect(retryAfter).toBeLessThanOrEqual(900)
    // An unknown email is counted exactly the same way.
    const nobody = `nobody-${unique()}@example.com`
    for (let i = 0; i < 5; i++) expectProblem(await login(nobody, `wrong guess number ${i}`), 401)
    expectProblem(await login(nobody, 'anything at all'), 429)
    expect(await unlockEmail((await testDatabase()).sql, account.email)).toBe(5)
    expect((await login(account.email, account.password)).status).toBe(200)
  })

  test('a sliding 15 minutes: once the oldest failure is older, the pair may try again, until 5 fall within it again', async () => {
    const account = await createAccount()
    const { sql } = await testDatabase()
    for (let i = 0; i < 5; i++) expectProblem(await login(account.email, `wrong guess number ${i}`), 401)
    expectProblem(await login(account.email, account.password), 429)
    // The oldest failure 15 minutes and a second ago: four remain within the window.
    await sql`
      update login_failures set failed_at = clock_timestamp() - interval '15 minutes 1 second'
      where ctid = (select ctid from login_failures where email = lower(${account.email}) order by failed_at limit 1)`
    const wrongAgain = await login(account.email, 'wrong guess number 5')
    expect(expectProblem(wrongAgain, 401).detail).toBe('Wrong email or password')
    const throttled = await login(account.email, account.password)
    expect(expectProblem(throttled, 429).detail).toBe('Too many failed logins; try again later')
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(800)
  })

  test('a success clears the pair: 4 failures, a success, 4 more failures: still no 429', async () => {
    const account = await createAccount()
    for (let i = 0; i < 4; i++) expectProblem(await login(account.email, `wrong guess number ${i}`), 401)
    expect((await login(account.email, account.password)).status).toBe(200)
    for (let i = 0; i < 4; i++) expectProblem(await login(account.email, `wrong guess again ${i}`), 401)
    expect((await login(account.email, account.password)).status).toBe(200)
  })

  test('a password may hold C1 characters (U+0080–U+009F), which a name may not: it is set, and logs in', async () => {
    const password = `violet\u0085harbour ${unique()} lantern\u009f`
    const email = `c1-${unique()}@example.com`
    const refusedName = await call('POST', '/users', { json: { name: 'Bad\u0085Name', email, age: 30, password } })
    expect(expectProblem(refusedName, 422).errors).toEqual([{ field: 'name', message: 'must be a string of 1 to 100 characters after trimming, without control characters' }])
    expect((await call('POST', '/users', { json: { name: 'Cee One', email, age: 30, password } })).status).toBe(201)
    expect((await call('POST', '/auth/token', { json: { email, password }, token: null })).status).toBe(200)
  })

  test('an unknown email costs about what a wrong password does (a dummy hash is checked)', async () => {
    const account = await createAccount()
    const timed = async (email: string) => {
      const started = performance.now()
      expectProblem(await login(email, 'surely not the password'), 401)
      return performance.now() - started
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[1]!
    const wrong: number[] = []
    const unknown: number[] = []
    for (let i = 0; i < 3; i++) {
      wrong.push(await timed(account.email))
      unknown.push(await timed(`nobody-${unique()}@example.com`))
    }
    await unlockEmail((await testDatabase()).sql, account.email)
    // The same argon2id work either way: within a factor of 3 even on a busy machine (no hash: ~1 ms).
    expect(median(unknown) / median(wrong)).toBeGreaterThan(1 / 3)
    expect(median(unknown) / median(wrong)).toBeLessThan(3)
  })

  test('a wrong current_password counts as a failed login', async () => {
    const account = await createAccount()
    for (let i = 0; i < 5; i++) {
      const reply = await call('PATCH', '/users/me', { token: account.token, json: { password: strongPassword(), current_password: `not it ${i} at all` } })
      expectProblem(reply, 422)
    }
    expectProblem(await login(account.email, account.password), 429)
  })

  test('guesses sent together: 5 are checked, the rest get 429 at once; then the right password is 429 too', async () => {
    const account = await createAccount()
    const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => login(account.email, `wrong guess number ${i}`)))
    const statuses = replies.map((reply) => reply.status).sort()
    expect(statuses).toEqual([...Array(5).fill(401), ...Array(7).fill(429)])
    for (const reply of replies.filter((reply) => reply.status === 429)) {
      expect(expectProblem(reply, 429).detail).toBe('Too many failed logins; try again later')
      expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(800)
    }
    expectProblem(await login(account.email, account.password), 429)
    expect(await unlockEmail((await testDatabase()).sql, account.email)).toBe(5)
  })

  test('a throttled pair cannot guess current_password either: 429, and the password stays', async () => {
    const account = await createAccount()
    const change = (current_password: string) => call('PATCH', '/users/me', { token: account.token, json: { password: strongPassword(), current_password } })
    for (let i = 0; i < 5; i++) expectProblem(await change(`not it ${i} at all`), 422)
    const throttled = await change(account.password)
    expect(expectProblem(throttled, 429).detail).toBe('Too many failed logins; try again later')
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(800)
    await unlockEmail((await testDatabase()).sql, account.email)
    expect((await login(account.email, account.password)).status).toBe(200)
  })
})

describe.skipIf(!AUTH_ON)('sign-up', () => {
  test('SIGNUP=open: anyone creates a user without a token; password required, role refused', async () => {
    const { sql } = await testDatabase()
    const app = buildApp(sql, { signupOpen: true })
    const password = strongPassword()
    const created = await call('POST', '/users', { json: newUser({ password }), token: null }, app)
    expect(created.status).toBe(201)
    expect(created.body.role).toBe('user')
    expect(created.text).not.toContain(password)
    expect((await login(created.body.email, password)).status).toBe(200)
    expect(expectProblem(await call('POST', '/users', { json: newUser(), token: null }, app), 422).errors).toEqual([{ field: 'password', message: 'is required to sign up' }])
    expect(expectProblem(await call('POST', '/users', { json: newUser({ password, role: 'admin' }), token: null }, app), 403).errors).toEqual([
      { field: 'role', message: 'may only be set by an admin' },
    ])
    // The request's faults (422) come before the field (403).
    expect(expectProblem(await call('POST', '/users', { json: newUser({ role: 'admin' }), token: null }, app), 422).errors).toEqual([{ field: 'password', message: 'is required to sign up' }])
    expect(expectProblem(await call('POST', '/users', { json: newUser({ password: 'passwordpassword', role: 'admin' }), token: null }, app), 422).errors).toEqual([
      { field: 'password', message: 'is too easy to guess: use a longer phrase of unrelated words' },
    ])
    // Everything else still needs a token.
    expectProblem(await call('GET', '/users', { token: null }, app), 401)
    // Closed (the default): 401.
    expectProblem(await call('POST', '/users', { json: newUser({ password }), token: null }), 401)
    // The document says the token is optional there, and only there.
    const document = (await call('GET', '/openapi.json', {}, app)).body
    expect(document.paths['/users'].post.security).toEqual([{ bearerAuth: [] }, { oauth2: [] }, {}])
    expect(document.paths['/users'].get.security).toEqual([{ bearerAuth: [] }, { oauth2: [] }])
  })
})

describe('AUTH=off', () => {
  test('no token needed; /auth/* and /users/me are 404; role and password still stored', async () => {
    const { sql } = await testDatabase()
    const app = buildApp(sql, { auth: false })
    const handle = (method: string, path: string, body?: unknown) =>
      app.handle(new Request(`http://localhost${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) }))
    const password = strongPassword()
    const created = await handle('POST', '/users', newUser({ role: 'admin', password }))
    expect(created.status).toBe(201)
    const user = (await created.json()) as { id: number; role: string }
    expect(user.role).toBe('admin')
    expect((await sql`select password_hash from users where id = ${user.id}`)[0]!.password_hash).toStartWith('$argon2id$')
    expect((await handle('GET', `/users/${user.id}`)).status).toBe(200)
    for (const [method, path] of [['POST', '/auth/token'], ['POST', '/auth/refresh'], ['POST', '/auth/logout'], ['GET', '/users/me'], ['DELETE', '/users/me']]) {
      const reply = await handle(method!, path!)
      expect(reply.status).toBe(404)
      expect(reply.headers.get('content-type')).toBe('application/problem+json')
    }
    // No route, so nothing about the body is judged: 404 before 400, 415 or 422.
    for (const [contentType, body] of [['application/json', '{"age":'], ['text/plain', 'age=3'], ['application/json', '{"age":"old"}']]) {
      const reply = await app.handle(new Request('http://localhost/users/me/?x=1', { method: 'PATCH', headers: { 'content-type': contentType! }, body }))
      expect(reply.status).toBe(404)
      expect(await reply.json()).toEqual({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'No such resource' })
    }
    const document = (await (await handle('GET', '/openapi.json')).json()) as { paths: Record<string, unknown> }
    expect(Object.keys(document.paths).filter((path) => path.startsWith('/auth') || path === '/users/me')).toEqual([])
  })
})

describe('password hashing', () => {
  test(`at most HASH_CONCURRENCY at once and ${HASH_QUEUE_LIMIT} waiting; beyond that 429 with Retry-After`, async () => {
    // The limit the docs state.
    expect(HASH_QUEUE_LIMIT).toBe(64)
    const hasher = createHasher({ concurrency: 1 })
    const results = await Promise.allSettled(Array.from({ length: HASH_QUEUE_LIMIT + 3 }, (_, i) => hasher.verify(`attempt ${i}`, null)))
    const refused = results.filter((result) => result.status === 'rejected').map((result) => (result as PromiseRejectedResult).reason)
    expect(refused.length).toBe(2)
    for (const problem of refused) expect(problem).toMatchObject({ status: 429, headers: { 'retry-after': '1', 'cache-control': 'no-store' } })
    expect(results.filter((result) => result.status === 'fulfilled' && result.value === false).length).toBe(HASH_QUEUE_LIMIT + 1)
  }, 120_000)

  test('creating users with passwords when the hash queue is full: 429 with Retry-After, nothing created; the rest 201', async () => {
    const { sql } = await testDatabase()
    const app = buildApp(sql, { hashConcurrency: 1 })
    const tag = unique()
    // 80 at once: 1 hashing and 64 waiting leave 15 or more with no place.
    const bodies = Array.from({ length: 80 }, (_, i) => ({ ...newUser({ email: `queued-${tag}-${i}@example.com` }), password: strongPassword() }))
    const replies = await Promise.all(bodies.map((json) => call('POST', '/users', { json }, app)))
    const full = replies.filter((reply) => reply.status === 429)
    expect(full.length).toBeGreaterThanOrEqual(15)
    expect(replies.filter((reply) => reply.status !== 429).map((reply) => reply.status)).toEqual(Array(80 - full.length).fill(201))
    for (const reply of full) {
      expect(expectProblem(reply, 429).detail).toBe('The service is busy checking passwords; try again shortly')
      expect(reply.headers.get('retry-after')).toBe('1')
      // A refusal of the moment: never stored, though the route's own answers may be.
      expect(reply.headers.get('cache-control')).toBe('no-store')
    }
    const [stored] = await sql<{ count: number }[]>`select count(*)::int as count from users where email like ${`queued-${tag}-%`}`
    expect(stored!.count).toBe(80 - full.length)
  }, 120_000)

  test.skipIf(!AUTH_ON)('a login refused because the hash queue is full does not count as a failure', async () => {
    const { sql } = await testDatabase()
    const app = buildApp(sql, { hashConcurrency: 1 })
    const tag = unique()
    // Three tries each for 40 unknown emails at once: far more than 1 running and 64 waiting.
    const emails = Array.from({ length: 40 }, (_, i) => `queue-${tag}-${i}@example.com`)
    const tries = emails.flatMap((email) => [0, 1, 2].map((i) => ({ email, password: `wrong guess ${i}` })))
    const replies = await Promise.all(tries.map((body) => call('POST', '/auth/token', { json: body, token: null }, app)))
    const answered = (status: number) => replies.filter((reply) => reply.status === status).length
    expect(answered(401) + answered(429)).toBe(tries.length)
    // How many find the queue full depends on how soon the first checks finish; some always do.
    expect(answered(429)).toBeGreaterThan(0)
    for (const reply of replies.filter((reply) => reply.status === 429)) expect(reply.headers.get('retry-after')).toBe('1')
    const [counted] = await sql<{ count: number }[]>`select count(*)::int as count from login_failures where email like ${`queue-${tag}-%`}`
    expect(counted!.count).toBe(answered(401))
  }, 120_000)

  test.skipIf(!AUTH_ON)('no log line holds a password or a token', async () => {
    const from = logLines.length
    const account = await createAccount()
    const loggedIn = await login(account.email, account.password)
    const fresh = strongPassword()
    const changed = await call('PATCH', '/users/me', { token: account.token, json: { password: fresh, current_password: account.password } })
    expect(changed.status).toBe(200)
    // The request line is written after the response is sent: wait for the last one.
    const lastId = changed.headers.get('x-request-id')
    for (let waited = 0; !logLines.slice(from).some((line) => line.request_id === lastId) && waited < 2000; waited += 10) await Bun.sleep(10)
    const lines = logLines.slice(from)
    const requests = lines.filter((line) => line.message === 'request').map((line) => [line.route, line.status])
    expect(requests).toContainEqual(['/auth/token', 200])
    expect(requests).toContainEqual(['/users/me', 200])
    const text = JSON.stringify(lines)
    for (const secret of [account.password, fresh, account.token!, loggedIn.body.access_token, loggedIn.body.refresh_token, account.refreshToken!])
      expect(text).not.toContain(secret)
    // Nor any part of a token: its signature alone would do.
    for (const token of [account.token!, loggedIn.body.access_token]) expect(text).not.toContain(token.split('.')[2])
  })

  test.skipIf(AUTH_ON)('without access control too, no log line holds a password', async () => {
    const from = logLines.length
    const [first, second] = [strongPassword(), strongPassword()]
    const created = await call('POST', '/users', { json: { ...newUser(), password: first } })
    expect(created.status).toBe(201)
    const changed = await call('PATCH', `/users/${created.body.id}`, { json: { password: second } })
    expect(changed.status).toBe(200)
    const lastId = changed.headers.get('x-request-id')
    for (let waited = 0; !logLines.slice(from).some((line) => line.request_id === lastId) && waited < 2000; waited += 10) await Bun.sleep(10)
    const text = JSON.stringify(logLines.slice(from))
    expect(text).toContain(lastId!)
    for (const secret of [first, second]) expect(text).not.toContain(secret)
  })
})

describe.skipIf(!AUTH_ON)('throttling across clients', () => {
  test('100 failures for one email within 24 hours throttle it for every client', async () => {
    const account = await createAccount()
    const { sql } = await testDatabase()
    await sql`insert into login_failures (email, client, failed_at)
      select lower(${account.email}), 'client-' || g, clock_timestamp() - interval '1 hour' from generate_series(1, 100) g`
    const throttled = await login(account.email, account.password)
    expectProblem(throttled, 429)
    const retryAfter = Number(throttled.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(82_000)
    expect(retryAfter).toBeLessThanOrEqual(82_800)
    expect(await unlockEmail(sql, account.email)).toBe(100)
    expect((await login(account.email, account.password)).status).toBe(200)
  })

  test('TRUSTED_PROXIES: the proxy’s X-Forwarded-For names the client; otherwise it is ignored', async () => {
    const { sql } = await testDatabase()
    const account = await createAccount()
    const attempt = async (port: number, forwardedFor: string, password: string) =>
      (await fetch(`http://127.0.0.1:${port}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
        body: JSON.stringify({ email: account.email, password }),
      })).status
    const behindProxy = buildApp(sql, { trustedProxies: ['127.0.0.1'] }).listen({ port: 0, hostname: '127.0.0.1' })
    try {
      const port = behindProxy.server!.port!
      for (let i = 0; i < 5; i++) expect(await attempt(port, '203.0.113.7', `wrong guess ${i}`)).toBe(401)
      expect(await attempt(port, '203.0.113.7', account.password)).toBe(429)
      // Another client behind the same proxy is not throttled.
      expect(await attempt(port, '198.51.100.9', account.password)).toBe(200)
      expect((await sql`select distinct client from login_failures where email = lower(${account.email})`).map((row) => row.client)).toEqual(['203.0.113.7'])
    } finally {
      await behindProxy.stop(true)
    }
    // Without TRUSTED_PROXIES a client's own X-Forwarded-For is ignored: the socket's address counts.
    await unlockEmail(sql, account.email)
    const direct = buildApp(sql).listen({ port: 0, hostname: '127.0.0.1' })
    try {
      const port = direct.server!.port!
      for (let i = 0; i < 5; i++) expect(await attempt(port, `192.0.2.${i}`, `wrong guess ${i}`)).toBe(401)
      expect(await attempt(port, '192.0.2.99', account.password)).toBe(429)
    } finally {
      await direct.stop(true)
    }
  })
})
