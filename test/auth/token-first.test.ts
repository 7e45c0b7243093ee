/**
 * The token comes first (401 → 403 → 400/413/415/422 → 403 for a field): a request refused before
 * any statement ran, with a token no longer valid, is a 401, not the refusal.
 */
import { describe, expect, test } from 'bun:test'
import postgres from 'postgres'
import { RETRY_AFTER_SECONDS } from '../../src/http/problem'
import { testDatabase } from '../support/database'
import { AUTH_ON, BODY_LIMIT, STATIC_KEY_CONFIG, buildApp, call, createAccount, createUser, expectProblem, staticKeyToken, strongPassword } from '../support/http'

const TOKEN_NOT_VALID = 'The bearer token is not valid'

/** What each refused request gets with `token`: its status and detail. */
const answersWith = async (token: string, id: number, other: number) => {
  const sent = [
    call('PATCH', '/users/me', { token, json: { age: 'old' } }),
    call('PATCH', `/users/${id}`, { token, json: { age: 500 } }),
    call('PATCH', '/users/me', { token, body: '{"age":', headers: { 'content-type': 'application/json' } }),
    call('PATCH', '/users/me', { token, body: 'age=3', headers: { 'content-type': 'text/plain' } }),
    call('PATCH', '/users/me', { token, json: { name: 'x'.repeat(BODY_LIMIT) } }),
    // Fits the schema; the account rules refuse it before any statement.
    call('PATCH', '/users/me', { token, json: { current_password: 'whatever it was' } }),
    call('PATCH', '/users/me', { token, json: { role: 'admin' } }),
    // Refused from the token alone: no database, whatever the token's user became.
    call('GET', `/users/${other}`, { token }),
  ]
  return (await Promise.all(sent)).map((reply) => [reply.status, expectProblem(reply, reply.status).detail, reply.headers.get('www-authenticate')])
}

describe.skipIf(!AUTH_ON)('the token before the request', () => {
  test('a token no longer valid: 401 for every refusal made before a statement; the 403 made from the token alone stays', async () => {
    const account = await createAccount()
    const other = await createUser()
    const current = await answersWith(account.token!, account.id, other.id)
    expect(current.map(([status]) => status)).toEqual([422, 400, 400, 415, 413, 422, 403, 403])
    // An admin sets the user's password: the user's token version moves.
    expect((await call('PATCH', `/users/${account.id}`, { json: { password: strongPassword() } })).status).toBe(200)
    const stale = [401, TOKEN_NOT_VALID, 'Bearer error="invalid_token"']
    expect(await answersWith(account.token!, account.id, other.id)).toEqual([stale, stale, stale, stale, stale, stale, stale, [403, 'You may not do this', null]])
  })

  test('a deleted admin’s token: a malformed listing, key or create is 401, and no Idempotency-Key keeps it', async () => {
    const admin = await createAccount('admin')
    const key = `token-first-${crypto.randomUUID()}`
    const refusedCreate = () => call('POST', '/users', { token: admin.token, json: { name: 'Kept Not', email: 'nope', age: 30 }, headers: { 'idempotency-key': key } })
    const malformedKey = () => call('POST', '/users', { token: admin.token, json: { name: 'Kept Not', email: 'kept-not@example.com', age: 30 }, headers: { 'idempotency-key': 'bad key é' } })
    expect(expectProblem(await malformedKey(), 422).errors).toEqual([{ field: 'Idempotency-Key', message: 'must be 1–255 printable ASCII characters, bare or in double quotes' }])
    expect(expectProblem(await call('GET', '/users?limit=0', { token: admin.token }), 422).errors).toEqual([
      { field: 'limit', message: 'must be an integer from 1 to 1000, written in decimal digits' },
    ])
    expect((await call('DELETE', `/users/${admin.id}`)).status).toBe(204)
    expect(expectProblem(await call('GET', '/users?limit=0', { token: admin.token }), 401).detail).toBe(TOKEN_NOT_VALID)
    expect(expectProblem(await malformedKey(), 401).detail).toBe(TOKEN_NOT_VALID)
    // (Here the key's own statement would refuse the token too: nothing is kept either way.)
    expect(expectProblem(await refusedCreate(), 401).detail).toBe(TOKEN_NOT_VALID)
    const { sql } = await testDatabase()
    const [kept] = await sql<{ count: number }[]>`select count(*)::int as count from idempotency_keys where key = ${key}`
    expect(kept!.count).toBe(0)
  })

  test('the database unreachable: the token cannot be checked, so a refused request with one is a 503', async () => {
    const unreachable = postgres('postgres://postgres@127.0.0.1:9/none', { max: 1, connect_timeout: 1, onnotice: () => {} })
    try {
      const reply = await call('PATCH', '/users/2', { json: { age: 'old' }, token: await staticKeyToken() }, buildApp(unreachable, STATIC_KEY_CONFIG))
      expect(expectProblem(reply, 503).detail).toBe('The database is unavailable; try again shortly')
      expect(reply.headers.get('retry-after')).toBe(String(RETRY_AFTER_SECONDS))
    } finally {
      await unreachable.end({ timeout: 1 })
    }
  })
})
