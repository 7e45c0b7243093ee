/**
 * A 422 lists every violation: the account rules (a weak or missing password, `current_password`)
 * are listed with the schema's when the schema refuses the body too, not only once it is fixed.
 */
import { describe, expect, test } from 'bun:test'
import postgres from 'postgres'
import { testDatabase } from './support/database'
import { AUTH_ON, buildApp, call, createAccount, createUser, expectProblem, newUser, strongPassword, unique } from './support/http'

const WEAK = { field: 'password', message: 'is too easy to guess: use a longer phrase of unrelated words' }
const SAME_AS_OWNER = { field: 'password', message: 'must not be the email or the name' }
const AGE_TYPE = { field: 'age', message: 'must be a JSON integer' }

describe('a body refused by its schema: its account faults listed too', () => {
  test('create: a weak password is listed with the schema violations, after them', async () => {
    const reply = await call('POST', '/users', { json: newUser({ age: 'old', nickname: 'x', password: 'passwordpassword' }) })
    expect(expectProblem(reply, 422)).toEqual({
      type: 'about:blank',
      title: 'Unprocessable Content',
      status: 422,
      detail: 'The request does not fit the schema',
      errors: [{ field: 'nickname', message: 'is not allowed' }, AGE_TYPE, WEAK],
    })
    // Judged against the body's own email and name, as for a valid body.
    const user = newUser()
    const named = await call('POST', '/users', { json: { ...user, age: 'old', password: user.email.toUpperCase() } })
    expect(expectProblem(named, 422).errors).toEqual([AGE_TYPE, SAME_AS_OWNER])
  })

  test('create: a business rule alone is a 400, with a weak password a 422 listing the 422s', async () => {
    const strong = await call('POST', '/users', { json: newUser({ age: 500, password: strongPassword() }) })
    expect(expectProblem(strong, 400).errors).toEqual([{ field: 'age', message: 'must be between 1 and 120' }])
    const weak = await call('POST', '/users', { json: newUser({ age: 500, password: 'passwordpassword' }) })
    expect(expectProblem(weak, 422).errors).toEqual([WEAK])
  })

  test('a password the schema refuses is described once, by the schema; a strong one adds nothing', async () => {
    const [short, typed] = await Promise.all([
      call('POST', '/users', { json: newUser({ age: 'old', password: 'short' }) }),
      call('POST', '/users', { json: newUser({ age: 'old', password: 12345 }) }),
    ])
    expect(expectProblem(short, 422).errors).toEqual([AGE_TYPE, { field: 'password', message: expect.stringMatching(/^must be .*15/) }])
    expect(expectProblem(typed, 422).errors).toEqual([AGE_TYPE, { field: 'password', message: expect.any(String) }])
    expect(expectProblem(typed, 422).errors).toHaveLength(2)
    const strong = await call('POST', '/users', { json: newUser({ age: 'old', password: strongPassword() }) })
    expect(expectProblem(strong, 422).errors).toEqual([AGE_TYPE])
  })

  test('with an Idempotency-Key, the whole list is what is kept and replayed', async () => {
    const send = (json: unknown) => call('POST', '/users', { json, headers: { 'idempotency-key': key } })
    const key = crypto.randomUUID()
    const body = newUser({ age: 'old', password: 'passwordpassword' })
    const first = await send(body)
    expect(expectProblem(first, 422).errors).toEqual([AGE_TYPE, WEAK])
    const again = await send(body)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.text).toBe(first.text)
  })

  test("a malformed Idempotency-Key: the body's violations, the password rules' too, then the header; at most 100 in all", async () => {
    const BAD_KEY = { field: 'Idempotency-Key', message: 'must be 1–255 printable ASCII characters, bare or in double quotes' }
    const send = (json: unknown) => call('POST', '/users', { json, headers: { 'idempotency-key': 'bad key é' } })
    expect(expectProblem(await send(newUser({ age: 'old', password: 'passwordpassword' })), 422).errors).toEqual([AGE_TYPE, WEAK, BAD_KEY])
    // A body that fits, but for its password.
    expect(expectProblem(await send(newUser({ password: 'passwordpassword' })), 422).errors).toEqual([WEAK, BAD_KEY])
    const unknown = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`extra${i}`, i]))
    const many = expectProblem(await send({ ...unknown, ...newUser({ password: 'passwordpassword' }) }), 422).errors!
    expect(many).toHaveLength(100)
    expect(many.at(-1)).toEqual(BAD_KEY)
  })

  test('change: judged against the stored email and name the body leaves out; a bad id too', async () => {
    const user = await createUser()
    const sameAsName = await call('PATCH', `/users/${user.id}`, { json: { age: 'old', password: user.name.toUpperCase() } })
    expect(expectProblem(sameAsName, 422).errors).toEqual([AGE_TYPE, SAME_AS_OWNER])
    const weak = await call('PATCH', `/users/${user.id}`, { json: { age: 'old', password: 'passwordpassword' } })
    expect(expectProblem(weak, 422).errors).toEqual([AGE_TYPE, WEAK])
    const badId = await call('PATCH', '/users/abc', { json: { password: 'passwordpassword' } })
    expect(expectProblem(badId, 422).errors).toEqual([{ field: 'id', message: expect.any(String) }, WEAK])
    // Nothing changed.
    const after = await call('GET', `/users/${user.id}`)
    expect(after.body).toEqual(user)
  })
})

describe.skipIf(!AUTH_ON)('a body refused by its schema, under access control', () => {
  test('one’s own: a missing current_password, or a lone one, listed with the schema violations', async () => {
    const account = await createAccount()
    const missing = await call('PATCH', '/users/me', { token: account.token, json: { email: 'not an email', password: strongPassword() } })
    expect(expectProblem(missing, 422).errors).toEqual([
      { field: 'email', message: expect.any(String) },
      { field: 'current_password', message: 'is required to change your own password' },
    ])
    const both = await call('PATCH', `/users/${account.id}`, { token: account.token, json: { age: 'old', password: account.email } })
    expect(expectProblem(both, 422).errors).toEqual([AGE_TYPE, SAME_AS_OWNER, { field: 'current_password', message: 'is required to change your own password' }])
    // A password of the wrong type is the schema's to describe, but it was sent: current_password is missing.
    const typed = await call('PATCH', '/users/me', { token: account.token, json: { password: 12345 } })
    expect(expectProblem(typed, 422).errors).toEqual([
      { field: 'password', message: expect.any(String) },
      { field: 'current_password', message: 'is required to change your own password' },
    ])
    const lone = await call('PATCH', '/users/me', { token: account.token, json: { age: 'old', current_password: account.password } })
    expect(expectProblem(lone, 422).errors).toEqual([AGE_TYPE, { field: 'current_password', message: 'is only accepted with password' }])
    // The password is unchanged.
    expect((await call('POST', '/auth/token', { json: { email: account.email, password: account.password }, token: null })).status).toBe(200)
  })

  test('SIGNUP=open: a sign-up without a password is told so with the schema violations', async () => {
    const app = buildApp((await testDatabase()).sql, { signupOpen: true })
    const reply = await call('POST', '/users', { json: { name: `Sign ${unique()}`, email: 'nope', age: 30 }, token: null }, app)
    expect(expectProblem(reply, 422).errors).toEqual([
      { field: 'email', message: expect.any(String) },
      { field: 'password', message: 'is required to sign up' },
    ])
  })
})

describe('a refused body: what counts as sent, and as stored', () => {
  test('a field of the wrong type is the schema’s to describe, but counts as sent', async () => {
    const user = await createUser()
    const typed = await call('PATCH', `/users/${user.id}`, { json: { age: 'old', password: 'passwordpassword', current_password: 5 } })
    expect(expectProblem(typed, 422).errors).toEqual([AGE_TYPE, { field: 'current_password', message: expect.any(String) }, WEAK])
    const unknown = await call('POST', '/users', { json: newUser({ password: 'passwordpassword', current_password: 5 }) })
    expect(expectProblem(unknown, 422).errors).toEqual([{ field: 'current_password', message: 'is not allowed' }, WEAK])
  })

  test('the name and email are compared trimmed, as the schema stores them', async () => {
    const phrase = `violet ${unique()} harbour lantern`
    const reply = await call('POST', '/users', { json: { name: `  ${phrase}  `, email: `x-${unique()}@example.com`, age: 'old', password: phrase } })
    expect(expectProblem(reply, 422).errors).toEqual([AGE_TYPE, SAME_AS_OWNER])
  })

  test('an id of any length, zeros in front, names its user; an age out of range with a weak password: the 422', async () => {
    const user = await createUser()
    const padded = await call('PATCH', `/users/${String(user.id).padStart(24, '0')}`, { json: { age: 'old', password: user.name.toUpperCase() } })
    expect(expectProblem(padded, 422).errors).toEqual([AGE_TYPE, SAME_AS_OWNER])
    const business = await call('PATCH', `/users/${user.id}`, { json: { age: 500, password: 'passwordpassword' } })
    expect(expectProblem(business, 422).errors).toEqual([WEAK])
  })
})

// Without access control: with a token, the token is checked first, and that needs the database (503).
describe('a refused body while the database is away', () => {
  const withoutToken = (json: unknown) => ({ json, token: null })

  test('unreachable: the change’s password is judged against the body alone', async () => {
    const unreachable = postgres('postgres://postgres@127.0.0.1:9/none', { max: 1, connect_timeout: 1, onnotice: () => {} })
    try {
      const reply = await call('PATCH', '/users/2', withoutToken({ age: 'old', password: 'passwordpassword' }), buildApp(unreachable, { auth: false }))
      expect(expectProblem(reply, 422).errors).toEqual([AGE_TYPE, WEAK])
    } finally {
      await unreachable.end({ timeout: 1 })
    }
  })

  // A server that accepts connections and never answers: a read would wait out the deadline.
  test('stalled: no read when the body gives the email and name, or the schema refused the password', async () => {
    const silent = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    const stalled = postgres(`postgres://postgres@127.0.0.1:${silent.port}/none`, { max: 1, onnotice: () => {} })
    const app = buildApp(stalled, { auth: false, requestTimeout: 10_000 })
    try {
      const started = performance.now()
      const given = await call('PATCH', '/users/2', withoutToken({ age: 'old', name: 'Some Name', email: 'some@example.com', password: 'passwordpassword' }), app)
      expect(expectProblem(given, 422).errors).toEqual([AGE_TYPE, WEAK])
      const short = await call('PATCH', '/users/2', withoutToken({ age: 'old', password: 'short' }), app)
      expect(expectProblem(short, 422).errors).toEqual([AGE_TYPE, { field: 'password', message: expect.any(String) }])
      expect(performance.now() - started).toBeLessThan(5_000)
    } finally {
      await stalled.end({ timeout: 0 })
      silent.stop(true)
    }
  })
})
