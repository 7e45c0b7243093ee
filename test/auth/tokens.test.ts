import { describe, expect, test } from 'bun:test'
import { SignJWT, decodeJwt } from 'jose'
import { createTokens, loadSigningKeys } from '../../src/auth/tokens'
import { openFreshDatabase, testDatabase } from '../support/database'
import { AUTH_ON, call, createAccount, expectProblem, strongPassword, suiteAdminToken, unique } from '../support/http'

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

describe.skipIf(!AUTH_ON)('access tokens', () => {
  test('a token has sub, role, ver, iat, exp and a kid; HS256', async () => {
    const account = await createAccount()
    const [header, payload] = account.token!.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()))
    expect(header).toMatchObject({ alg: 'HS256', typ: 'JWT' })
    expect(typeof header.kid).toBe('string')
    expect(payload).toEqual({ sub: String(account.id), role: 'user', ver: 1, iat: expect.any(Number), exp: payload.iat + 3600 })
  })

  test('forged tokens are 401 invalid_token: alg none, another key, a tampered payload, expired, junk', async () => {
    const account = await createAccount()
    const [header, payload, signature] = account.token!.split('.') as [string, string, string]
    const claims = decodeJwt(account.token!)
    const admin = { ...claims, role: 'admin' }
    const { sql } = await testDatabase()
    const [key] = await loadSigningKeys(sql, [])
    const forged = [
      `${b64({ alg: 'none', typ: 'JWT' })}.${b64(admin)}.`,
      `${b64({ alg: 'none', typ: 'JWT', kid: JSON.parse(Buffer.from(header, 'base64url').toString()).kid })}.${b64(admin)}.x`,
      await new SignJWT(admin).setProtectedHeader({ alg: 'HS256', kid: key!.kid }).sign(crypto.getRandomValues(new Uint8Array(32))),
      `${header}.${b64(admin)}.${signature}`,
      await new SignJWT({ role: 'user', ver: 1 }).setProtectedHeader({ alg: 'HS256', kid: key!.kid }).setSubject(String(account.id)).setIssuedAt(Math.floor(Date.now() / 1000) - 100).setExpirationTime(Math.floor(Date.now() / 1000) - 10).sign(key!.key),
      await new SignJWT({ role: 'user', ver: 1 }).setProtectedHeader({ alg: 'HS512', kid: key!.kid }).setSubject(String(account.id)).setIssuedAt().setExpirationTime('1h').sign(new Uint8Array(64)),
      `${header}.${payload}`,
      // The same signature bytes, spelled otherwise: the last character's two unused bits set.
      `${header}.${payload}.${signature.slice(0, -1)}${B64URL[(B64URL.indexOf(signature.at(-1)!) & ~3) | ((B64URL.indexOf(signature.at(-1)!) & 3) ^ 1)]}`,
      'junk',
      // Signed with the right key, but without `exp` (it would never expire) or without `iat`.
      await new SignJWT({ role: 'user', ver: 1 }).setProtectedHeader({ alg: 'HS256', kid: key!.kid }).setSubject(String(account.id)).setIssuedAt().sign(key!.key),
      await new SignJWT({ role: 'user', ver: 1 }).setProtectedHeader({ alg: 'HS256', kid: key!.kid }).setSubject(String(account.id)).setExpirationTime('1h').sign(key!.key),
      // Signed with the right key (by whoever holds it), with claims no user can have: a version
      // beyond the column's range, a fractional or negative one, an id beyond the API's.
      ...(await Promise.all(
        [
          { sub: String(account.id), ver: 99_999_999_999 },
          { sub: String(account.id), ver: 1.5 },
          { sub: String(account.id), ver: -1 },
          { sub: '9999999999999999', ver: 1 },
        ].map(({ sub, ver }) =>
          new SignJWT({ role: 'admin', ver }).setProtectedHeader({ alg: 'HS256', kid: key!.kid }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(key!.key),
        ),
      )),
    ]
    for (const token of forged) {
      for (const path of ['/users/me', `/users/${account.id}`]) {
        const reply = await call('GET', path, { token })
        expect(expectProblem(reply, 401).detail).toBe('The bearer token is not valid')
        expect(reply.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
      }
    }
    // A scheme other than Bearer is no bearer token: a 401 without an error code (RFC 6750 §3.1).
    const basic = await call('GET', '/users/me', { headers: { authorization: 'Basic dXNlcjpwYXNz' } })
    expect(expectProblem(basic, 401).detail).toBe('A bearer token is required')
    expect(basic.headers.get('www-authenticate')).toBe('Bearer')
    expect((await call('GET', '/users/me', { token: account.token })).status).toBe(200)
  })

  test('the header: the scheme in any case and spaces around the token; nothing else, before or after a token has been used', async () => {
    const account = await createAccount()
    const token = account.token!
    const read = (authorization: string) => call('GET', `/users/${account.id}`, { headers: { authorization } })
    // Twice each: the first verifies the token, the second finds it verified.
    for (let round = 0; round < 2; round++) {
      for (const header of [`Bearer ${token}`, `bearer ${token}`, `BEARER   ${token}  `]) {
        const reply = await read(header)
        expect(reply.status).toBe(200)
        expect(reply.body).toMatchObject({ id: account.id, email: account.email })
      }
      for (const header of [`Bearer ${token} extra`, `Bearer ${token}x`, `Bearer\t${token}`, 'Bearer x', 'Bearer \u00e9']) {
        const reply = await read(header)
        expect(expectProblem(reply, 401).detail).toBe('The bearer token is not valid')
        expect(reply.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"')
      }
      // Another scheme, or none, or the scheme alone (the docs page's before a log-in): no bearer token was sent.
      for (const header of [`Token ${token}`, token, `Bearer${token}`, `Basic ${token}`, 'Bearer', 'Bearer  ', 'bearer\t', 'Bearer,']) {
        const reply = await read(header)
        expect(expectProblem(reply, 401).detail).toBe('A bearer token is required')
        expect(reply.headers.get('www-authenticate')).toBe('Bearer')
      }
    }
  })

  test('a refused precondition comes before a wrong current_password; a weak password before a missing user', async () => {
    const account = await createAccount()
    const change = { password: strongPassword(), current_password: 'not my password at all' }
    const stale = await call('PATCH', '/users/me', { token: account.token, json: change, headers: { 'if-match': '"0-0"' } })
    expect(expectProblem(stale, 412).detail).toBe('The user has changed since it was read: If-Match does not match its ETag')
    const named = await call('PATCH', '/users/me', { token: account.token, json: change, headers: { 'if-none-match': `"${account.id}-1"` } })
    expect(expectProblem(named, 412).detail).toBe('If-None-Match names the user’s current ETag')
    const admin = await suiteAdminToken()
    const weak = await call('PATCH', '/users/2147483646', { token: admin, json: { password: 'passwordpassword' } })
    expect(expectProblem(weak, 422).errors).toEqual([{ field: 'password', message: 'is too easy to guess: use a longer phrase of unrelated words' }])
    const missing = await call('PATCH', '/users/2147483646', { token: admin, json: { password: strongPassword() } })
    expect(expectProblem(missing, 404).detail).toBe('User not found')
    // Nothing of the refused change stuck: the old password still logs in.
    const login = await call('POST', '/auth/token', { json: { email: account.email, password: account.password } })
    expect(login.status).toBe(200)
  })

  test('faults of the request come before the preconditions: a weak password, a missing current_password (both listed)', async () => {
    const account = await createAccount()
    const admin = await suiteAdminToken()
    const stale = { 'if-match': '"0-0"' }
    const weakByAdmin = await call('PATCH', `/users/${account.id}`, { token: admin, json: { password: 'passwordpassword' }, headers: stale })
    expect(expectProblem(weakByAdmin, 422).errors).toEqual([{ field: 'password', message: 'is too easy to guess: use a longer phrase of unrelated words' }])
    const both = await call('PATCH', '/users/me', { token: account.token, json: { password: account.email }, headers: stale })
    expect(expectProblem(both, 422).errors).toEqual([
      { field: 'password', message: 'must not be the email or the name' },
      { field: 'current_password', message: 'is required to change your own password' },
    ])
    // With the request right, the stale precondition is what is refused.
    const refused = await call('PATCH', `/users/${account.id}`, { token: admin, json: { password: strongPassword() }, headers: stale })
    expect(expectProblem(refused, 412).detail).toBe('The user has changed since it was read: If-Match does not match its ETag')
  })

  test('current_password without password: 422, and nothing changes (not even the version)', async () => {
    const account = await createAccount()
    const before = await call('GET', '/users/me', { token: account.token })
    for (const json of [{ current_password: account.password }, { name: 'Renamed Person', current_password: account.password }]) {
      const reply = await call('PATCH', '/users/me', { token: account.token, json, headers: { 'if-match': before.headers.get('etag')! } })
      expect(expectProblem(reply, 422).errors).toEqual([{ field: 'current_password', message: 'is only accepted with password' }])
    }
    const after = await call('GET', '/users/me', { token: account.token })
    expect(after.headers.get('etag')).toBe(before.headers.get('etag'))
    expect(after.body).toEqual(before.body)
  })

  test('a password change ends the access token and the refresh tokens; current_password is required and checked', async () => {
    const account = await createAccount()
    const missing = await call('PATCH', '/users/me', { token: account.token, json: { password: strongPassword() } })
    expect(expectProblem(missing, 422).errors).toEqual([{ field: 'current_password', message: 'is required to change your own password' }])
    const wrong = await call('PATCH', '/users/me', { token: account.token, json: { password: strongPassword(), current_password: 'not my password at all' } })
    expect(expectProblem(wrong, 422).errors).toEqual([{ field: 'current_password', message: 'is not your current password' }])
    expect(wrong.text).not.toContain('not my password at all')
    const fresh = strongPassword()
    const changed = await call('PATCH', '/users/me', { token: account.token, json: { password: fresh, current_password: account.password } })
    expect(changed.status).toBe(200)
    expect(changed.text).not.toContain(fresh)
    expect(changed.body).not.toHaveProperty('password')
    expectProblem(await call('GET', '/users/me', { token: account.token }), 401)
    expectProblem(await call('POST', '/auth/refresh', { json: { refresh_token: account.refreshToken }, token: null }), 401)
    expectProblem(await call('POST', '/auth/token', { json: { email: account.email, password: account.password }, token: null }), 401)
    expect((await call('POST', '/auth/token', { json: { email: account.email, password: fresh }, token: null })).status).toBe(200)
  })

  test('an admin changing their own password needs current_password too, by id or as /users/me', async () => {
    const admin = await createAccount('admin')
    for (const path of ['/users/me', `/users/${admin.id}`]) {
      const missing = await call('PATCH', path, { token: admin.token, json: { password: strongPassword() } })
      expect(expectProblem(missing, 422).errors).toEqual([{ field: 'current_password', message: 'is required to change your own password' }])
    }
    expect((await call('POST', '/auth/token', { json: { email: admin.email, password: admin.password }, token: null })).status).toBe(200)
  })

  test('an admin sets another user’s password without current_password; a role change ends that user’s tokens', async () => {
    const account = await createAccount()
    const fresh = strongPassword()
    expect((await call('PATCH', `/users/${account.id}`, { json: { password: fresh } })).status).toBe(200)
    expect(expectProblem(await call('GET', '/users/me', { token: account.token }), 401).detail).toBe('The bearer token is not valid')
    // Their refresh tokens are revoked too, not only their access tokens.
    expect(expectProblem(await call('POST', '/auth/refresh', { json: { refresh_token: account.refreshToken }, token: null }), 401).detail).toBe('The refresh token is not valid')
    const again = await call('POST', '/auth/token', { json: { email: account.email, password: fresh }, token: null })
    expect(again.status).toBe(200)
    const token = again.body.access_token
    expect((await call('PATCH', `/users/${account.id}`, { json: { role: 'admin' } })).body.role).toBe('admin')
    // The old token still says `user`: its version moved with the role, so it is refused at once.
    expectProblem(await call('GET', '/users/me', { token }), 401)
  })

  test('a stale token reading another user is 401 whether or not that user exists; a current one reads a missing user as 404', async () => {
    const admin = await createAccount('admin')
    const other = await createAccount()
    expect((await call('GET', `/users/${other.id}`, { token: admin.token })).body.email).toBe(other.email)
    expect(expectProblem(await call('GET', '/users/2147483646', { token: admin.token }), 404).detail).toBe('User not found')
    expect((await call('PATCH', `/users/${admin.id}`, { json: { role: 'user' } })).body.role).toBe('user')
    for (const path of [`/users/${other.id}`, '/users/2147483646']) {
      expect(expectProblem(await call('GET', path, { token: admin.token }), 401).detail).toBe('The bearer token is not valid')
    }
  })

  test('a password’s length is that of its NFKC form, as it is stored: decomposed accents do not count twice', async () => {
    const composed = 'décédé répété élevé été fée épée rêvé café élève énergie sécurité vérité étoile planète théâtre médecine général éléphant'
    const decomposed = composed.normalize('NFD')
    expect([[...composed].length, [...decomposed].length]).toEqual([121, 153])
    const email = `nfkc-${unique()}@example.com`
    const created = await call('POST', '/users', { json: { name: 'Nora Form', email, age: 30, password: decomposed } })
    expect(created.status).toBe(201)
    // Either form logs in: both are the same password once normalised.
    for (const password of [composed, decomposed]) expect((await call('POST', '/auth/token', { json: { email, password }, token: null })).status).toBe(200)
    // Twenty code points as sent, ten in NFKC form: too short.
    const short = await call('PATCH', `/users/${created.body.id}`, { json: { password: 'e\u0301'.repeat(10) } })
    expect(expectProblem(short, 422).errors).toEqual([{ field: 'password', message: 'must be a string of 15 to 128 characters (in NFKC form), without control characters' }])
  })

  test('weak passwords: 422 naming password, the password never echoed', async () => {
    const account = await createAccount()
    const easy = 'is too easy to guess: use a longer phrase of unrelated words'
    for (const [weak, message] of [
      ['short', 'must be a string of 15 to 128 characters (in NFKC form), without control characters'],
      ['password1234567890', easy],
      ['aaaaaaaaaaaaaaaaaaaa', easy],
      [account.email, 'must not be the email or the name'],
      ['qwertyuiopasdfghjkl', easy],
    ] as const) {
      const reply = await call('PATCH', `/users/${account.id}`, { json: { password: weak } })
      expect(expectProblem(reply, 422).errors).toEqual([{ field: 'password', message }])
      expect(reply.text).not.toContain(weak)
    }
    // Their name, in another case, as well.
    const named = await call('PATCH', `/users/${account.id}`, { json: { name: 'Orchard Velvet Compass Nine', password: 'orchard velvet compass nine' } })
    expect(expectProblem(named, 422).errors).toEqual([{ field: 'password', message: 'must not be the email or the name' }])
    const created = await call('POST', '/users', { json: { name: 'Weak Pat', email: `weak-${Date.now()}@example.com`, age: 30, password: 'letmein12345678' } })
    expect(expectProblem(created, 422).errors).toEqual([{ field: 'password', message: 'is too easy to guess: use a longer phrase of unrelated words' }])
    expect(created.text).not.toContain('letmein12345678')
  })
})

describe('signing keys', () => {
  test('generated once per database: concurrent first starts agree; a new database gets another key', async () => {
    const first = await openFreshDatabase()
    const second = await openFreshDatabase()
    try {
      const keys = await Promise.all([loadSigningKeys(first.sql, []), loadSigningKeys(first.sql, []), loadSigningKeys(first.sql, [])])
      const raw = async (sql: typeof first.sql) => (await sql`select id, encode(secret, 'hex') as secret from signing_keys`).map((row) => `${row.id}:${row.secret}`)
      expect(keys.map((set) => set.map((key) => key.kid))).toEqual([['generated-1'], ['generated-1'], ['generated-1']])
      const [stored] = await raw(first.sql)
      expect(await raw(first.sql)).toEqual([stored!])
      await loadSigningKeys(second.sql, [])
      expect(await raw(second.sql)).not.toEqual([stored!])
      // No migration carries a key: a freshly migrated database has none until the service starts.
      const third = await openFreshDatabase()
      expect((await third.sql`select count(*)::int as n from signing_keys`)[0]!.n).toBe(0)
      await third.close()
    } finally {
      await first.close()
      await second.close()
    }
  }, 60_000)

  test('AUTH_SECRET with several keys: the first signs, all verify; a token of a dropped key is refused', async () => {
    const [oldKey, newKey] = ['an old signing key of at least 32 characters', 'a new signing key, also of 32 characters or more']
    const unused = undefined as never
    const before = createTokens(() => loadSigningKeys(unused, [oldKey]), { accessTokenTtl: 60 })
    const rotated = createTokens(() => loadSigningKeys(unused, [newKey, oldKey]), { accessTokenTtl: 60 })
    const after = createTokens(() => loadSigningKeys(unused, [newKey]), { accessTokenTtl: 60 })
    const caller = { id: 7, role: 'user' as const, ver: 3 }
    const oldToken = await before.sign(caller)
    const newToken = await rotated.sign(caller)
    expect(await rotated.verify(oldToken)).toEqual(caller)
    expect(await rotated.verify(newToken)).toEqual(caller)
    expect(await after.verify(newToken)).toEqual(caller)
    expect(await after.verify(oldToken)).toBeUndefined()
    expect(decodeJwt(newToken)).toMatchObject({ sub: '7', role: 'user', ver: 3 })
  })
})
