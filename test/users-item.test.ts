import { describe, expect, test } from 'bun:test'
import { api, call, createUser, expectProblem, ISO_UTC, rawText, unique } from './support/http'

const BAD_IDS = ['abc', '0', '1.5', '-3', '1e2', '0x10', '+1', '%201', '99999999999999999999', '9007199254740992']
const ID_RULE = 'must be an integer from 1 to 9007199254740991, written in decimal digits'

describe('GET /users/{id}', () => {
  test('200 with the user', async () => {
    const user = await createUser()
    const reply = await api.users({ id: user.id }).get()
    expect(reply.status).toBe(200)
    expect(reply.response.headers.get('content-type')).toStartWith('application/json')
    expect(reply.data).toEqual(user)
  })

  test('404 "User not found" for an id nobody has', async () => {
    const body = expectProblem(await call('GET', '/users/9007199254740991'), 404)
    expect(body).toEqual({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'User not found' })
  })

  test.each(BAD_IDS)('id %p: 422 naming the id', async (id) => {
    const body = expectProblem(await call('GET', `/users/${id}`), 422)
    expect(body.errors).toEqual([{ field: 'id', message: ID_RULE }])
  })

  test('leading zeros are still the same id', async () => {
    const user = await createUser()
    expect((await api.users({ id: `000${user.id}` }).get()).data).toEqual(user)
  })
})

describe('PATCH /users/{id}', () => {
  const patch = (id: number | string, json: unknown) => call('PATCH', `/users/${id}`, { json })

  test('changes only the fields sent; updated_at moves, created_at does not', async () => {
    const user = await createUser({ age: 40 })
    await Bun.sleep(5)
    const reply = await api.users({ id: user.id }).patch({ age: 41 })
    expect(reply.status).toBe(200)
    expect(reply.response.headers.get('content-type')).toStartWith('application/json')
    const changed = reply.data!
    expect(changed).toMatchObject({ id: user.id, name: user.name, email: user.email, age: 41, created_at: user.created_at })
    expect(changed.updated_at).toMatch(ISO_UTC)
    expect(Date.parse(changed.updated_at)).toBeGreaterThan(Date.parse(user.updated_at))
    expect((await api.users({ id: user.id }).get()).data).toEqual(changed)
  })

  test('name and email follow the create rules: trimmed, stored exactly', async () => {
    const user = await createUser()
    const email = `New.${unique()}@Example.org`
    const reply = await api.users({ id: user.id }).patch({ name: '  Grace Hopper ', email: ` ${email}` })
    expect(reply.status).toBe(200)
    expect(reply.data).toMatchObject({ name: 'Grace Hopper', email, age: user.age })
    // NEL (U+0085) is white space around a name, and a control character within one.
    const nel = await patch(user.id, { name: '\u0085Grace\u0085' })
    expect([nel.status, nel.body.name]).toEqual([200, 'Grace'])
    const within = expectProblem(await patch(user.id, { name: 'Gr\u0085ace' }), 422)
    expect(within.errors).toEqual([{ field: 'name', message: 'must be a string of 1 to 100 characters after trimming, without control characters' }])
  })

  test('a user may change the case of their own email', async () => {
    const user = await createUser()
    const reply = await api.users({ id: user.id }).patch({ email: user.email.toUpperCase() })
    expect(reply.status).toBe(200)
    expect(reply.data!.email).toBe(user.email.toUpperCase())
  })

  test('an empty object: 422', async () => {
    const user = await createUser()
    const body = expectProblem(await patch(user.id, {}), 422)
    expect(body.errors).toEqual([{ field: 'body', message: 'must contain at least one of: name, email, age, password, current_password, role' }])
  })

  test('unknown and invalid fields: 422 listing each, nothing changed', async () => {
    const user = await createUser()
    const body = expectProblem(await patch(user.id, { name: '', age: 3.5, id: 9, created_at: 'now' }), 422)
    expect(body.errors!.map((error) => error.field).sort()).toEqual(['age', 'created_at', 'id', 'name'])
    expect((await api.users({ id: user.id }).get()).data).toEqual(user)
  })

  test('null is not a value for any field: 422', async () => {
    const user = await createUser()
    const body = expectProblem(await patch(user.id, { name: null, email: null, age: null }), 422)
    expect(body.errors!.map((error) => error.field).sort()).toEqual(['age', 'email', 'name'])
  })

  test.each([0, 121])('age %p: 400, nothing changed', async (age) => {
    const user = await createUser()
    const body = expectProblem(await patch(user.id, { age }), 400)
    expect(body.errors).toEqual([{ field: 'age', message: 'must be between 1 and 120' }])
    expect((await api.users({ id: user.id }).get()).data).toEqual(user)
  })

  test("another user's email, in any case: 409", async () => {
    const taken = await createUser()
    const user = await createUser()
    const body = expectProblem(await patch(user.id, { email: taken.email.toUpperCase() }), 409)
    expect(body.errors).toEqual([{ field: 'email', message: 'is already taken' }])
    expect((await api.users({ id: user.id }).get()).data).toEqual(user)
  })

  test('404 for an absent user', async () => {
    expect(expectProblem(await patch(9007199254740991, { age: 30 }), 404).detail).toBe('User not found')
  })

  test.each(BAD_IDS)('id %p: 422', async (id) => {
    expect(expectProblem(await patch(id, { age: 30 }), 422).errors).toEqual([{ field: 'id', message: ID_RULE }])
  })

  test('415 for a body that is not JSON, 400 for broken JSON', async () => {
    const user = await createUser()
    expectProblem(await call('PATCH', `/users/${user.id}`, { body: 'age=3', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415)
    expectProblem(await call('PATCH', `/users/${user.id}`, { body: '{"age":', headers: { 'content-type': 'application/json' } }), 400)
  })
})

describe('DELETE /users/{id}', () => {
  test('204 with an empty body; then 404 on read and on a second delete', async () => {
    const user = await createUser()
    const reply = await api.users({ id: user.id }).delete()
    expect(reply.status).toBe(204)
    expect(rawText(reply.response)).toBe('')
    expect(reply.response.headers.get('x-request-id')).toBeTruthy()
    expect(expectProblem(await call('GET', `/users/${user.id}`), 404).detail).toBe('User not found')
    expect(expectProblem(await call('DELETE', `/users/${user.id}`), 404).detail).toBe('User not found')
  })

  test('deletion is real: the email can be used again', async () => {
    const user = await createUser()
    expect((await api.users({ id: user.id }).delete()).status).toBe(204)
    const again = await api.users.post({ name: 'Again', email: user.email.toUpperCase(), age: 50 })
    expect(again.status).toBe(201)
    expect(again.data!.id).not.toBe(user.id)
  })

  test.each(BAD_IDS)('id %p: 422', async (id) => {
    expect(expectProblem(await call('DELETE', `/users/${id}`), 422).errors).toEqual([{ field: 'id', message: ID_RULE }])
  })
})
