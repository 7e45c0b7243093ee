import { describe, expect, test } from 'bun:test'
import { api, BODY_LIMIT, call, expectProblem, handleRequest, ISO_UTC, newUser, unique } from './support/http'

const post = (json: unknown) => call('POST', '/users', { json })

const fieldsOf = (errors: { field: string }[] | undefined) => (errors ?? []).map((error) => error.field).sort()

describe('POST /users', () => {
  test('201 with Location and the new user', async () => {
    const input = newUser({ age: 36 })
    const reply = await api.users.post(input)
    expect(reply.status).toBe(201)
    const user = reply.data!
    expect(reply.response.headers.get('content-type')).toStartWith('application/json')
    expect(reply.response.headers.get('location')).toBe(`/users/${user.id}`)
    expect(reply.response.headers.get('x-request-id')).toBeTruthy()
    expect(Object.keys(user).sort()).toEqual(['age', 'created_at', 'email', 'id', 'name', 'role', 'updated_at'])
    expect(user).toMatchObject({ name: input.name, email: input.email, age: 36 })
    expect(Number.isInteger(user.id)).toBe(true)
    expect(user.created_at).toMatch(ISO_UTC)
    expect(user.updated_at).toBe(user.created_at)
    const read = await api.users({ id: user.id }).get()
    expect(read.status).toBe(200)
    expect(read.data).toEqual(user)
  })

  test('trims name and email and stores them otherwise exactly', async () => {
    const tag = unique()
    const reply = await api.users.post({ name: `  \tAda  Lovelace\n `, email: ` Ada.${tag}@Example.COM `, age: 36 })
    expect(reply.status).toBe(201)
    expect(reply.data!.name).toBe('Ada  Lovelace')
    expect(reply.data!.email).toBe(`Ada.${tag}@Example.COM`)
  })

  test.each([
    ['emoji', '👩🏽‍💻 Zoë 😀'],
    ['CJK', '山田 太郎'],
    ['accents, composed and decomposed', 'José Ñúñez e\u0301'],
    ['RTL', 'مرحبا بالعالم'],
  ])('%s names round-trip byte for byte', async (_, name) => {
    const created = await api.users.post(newUser({ name }))
    expect(created.status).toBe(201)
    expect(created.data!.name).toBe(name)
    const read = await api.users({ id: created.data!.id }).get()
    expect(Buffer.from(read.data!.name).equals(Buffer.from(name))).toBe(true)
  })

  test('name length counts code points after trimming: 100 emoji pass, 101 do not', async () => {
    expect((await api.users.post(newUser({ name: '😀'.repeat(100) }))).status).toBe(201)
    expect((await api.users.post(newUser({ name: `   ${'a'.repeat(100)}   ` }))).status).toBe(201)
    const reply = await post(newUser({ name: '😀'.repeat(101) }))
    expect(expectProblem(reply, 422).errors).toEqual([
      { field: 'name', message: 'must be a string of 1 to 100 characters after trimming, without control characters' },
    ])
  })

  test('a name of white space only is empty: 422', async () => {
    const body = expectProblem(await post(newUser({ name: '   ' })), 422)
    expect(fieldsOf(body.errors)).toEqual(['name'])
  })

  test('missing fields: 422 listing every one', async () => {
    const body = expectProblem(await post({}), 422)
    expect(body.errors).toEqual([
      { field: 'name', message: 'is required' },
      { field: 'email', message: 'is required' },
      { field: 'age', message: 'is required' },
    ])
  })

  test('every violation is listed, unknown fields included', async () => {
    const body = expectProblem(await post({ name: '', email: 'not-an-email', age: '30', id: 7, is_admin: true, role: 'root' }), 422)
    expect(fieldsOf(body.errors)).toEqual(['age', 'email', 'id', 'is_admin', 'name', 'role'])
    expect(body.errors!.find((error) => error.field === 'id')!.message).toBe('is not allowed')
    expect(body.errors!.find((error) => error.field === 'age')!.message).toBe('must be a JSON integer')
  })

  test.each([
    ['a numeric string', '30'],
    ['a fraction', 30.5],
    ['a boolean', true],
    ['null', null],
    ['an array', [30]],
    ['an object', { value: 30 }],
  ])('age as %s: 422', async (_, age) => {
    const body = expectProblem(await post(newUser({ age })), 422)
    expect(body.errors).toEqual([{ field: 'age', message: 'must be a JSON integer' }])
  })

  test.each([0, -1, 121, 1e20, 99999999999999999999])('age %p breaks the business rule: 400', async (age) => {
    const body = expectProblem(await post(newUser({ age })), 400)
    expect(body.errors).toEqual([{ field: 'age', message: 'must be between 1 and 120' }])
  })

  test.each([1, 120])('age %p is accepted', async (age) => {
    const reply = await api.users.post(newUser({ age }))
    expect(reply.status).toBe(201)
    expect(reply.data!.age).toBe(age)
  })

  test.each([
    'plain',
    'no-at.example.com',
    'a@b',
    'a@@example.com',
    'a b@example.com',
    '@example.com',
    'a@-example.com',
    'a@example..com',
    // The local part is a dot-atom, as `format: email` has it: no leading, trailing or doubled dot.
    '.a@example.com',
    'a.@example.com',
    'a..b@example.com',
  ])('malformed email %p: 422', async (email) => {
    const body = expectProblem(await post(newUser({ email })), 422)
    expect(body.errors).toEqual([
      { field: 'email', message: 'must be a valid email address (local@domain.tld) of at most 254 characters' },
    ])
  })

  test('email of 254 characters passes, 255 does not', async () => {
    const at254 = `${unique()}@${'d'.repeat(60)}.${'e'.repeat(60)}.${'f'.repeat(60)}.com`
    const padded = `${'a'.repeat(254 - at254.length)}${at254}`
    expect(padded.length).toBe(254)
    expect((await api.users.post(newUser({ email: padded }))).status).toBe(201)
    expectProblem(await post(newUser({ email: `b${padded}` })), 422)
  })

  test('NUL and other control characters: 422, never a database error', async () => {
    for (const input of [newUser({ name: 'Ada\u0000Lovelace' }), newUser({ name: 'Ada\u0007' }), newUser({ email: `a\u0000${unique()}@example.com` })]) {
      const body = expectProblem(await post(input), 422)
      expect(body.errors).toHaveLength(1)
    }
  })

  test('a lone surrogate cannot be stored faithfully: 422', async () => {
    const reply = await call('POST', '/users', {
      body: `{"name":"bad \\ud800 half","email":"s-${unique()}@example.com","age":30}`,
      headers: { 'content-type': 'application/json' },
    })
    expect(fieldsOf(expectProblem(reply, 422).errors)).toEqual(['name'])
  })

  test('10,000-character strings: 422 for each', async () => {
    const long = 'x'.repeat(10_000)
    const body = expectProblem(await post({ name: long, email: `${long}@example.com`, age: 30 }), 422)
    expect(fieldsOf(body.errors)).toEqual(['email', 'name'])
  })

  test.each(['__proto__', 'constructor', 'prototype'])('a %s key is an unknown field: 422, nothing polluted', async (key) => {
    const body = `{"name":"Proto","email":"p-${unique()}@example.com","age":30,"${key}":{"polluted":true}}`
    const reply = await call('POST', '/users', { body, headers: { 'content-type': 'application/json' } })
    expect(expectProblem(reply, 422).errors).toEqual([{ field: key, message: 'is not allowed' }])
    expect(({} as any).polluted).toBeUndefined()
    expect((Object.prototype as any).polluted).toBeUndefined()
  })

  test('unknown fields are named as sent, even "" and ones with / and ~', async () => {
    const body = JSON.stringify({ ...newUser(), '': 1, 'a/b~c': 2 })
    const reply = await call('POST', '/users', { body, headers: { 'content-type': 'application/json' } })
    expect(fieldsOf(expectProblem(reply, 422).errors)).toEqual(['', 'a/b~c'])
  })

  test.each([
    ['an array', '[]'],
    ['null', 'null'],
    ['a string', '"user"'],
    ['a number', '42'],
  ])('a body that is %s: 422 on the body', async (_, body) => {
    const reply = await call('POST', '/users', { body, headers: { 'content-type': 'application/json' } })
    expect(fieldsOf(expectProblem(reply, 422).errors)).toContain('body')
  })

  test.each([
    ['truncated', '{"name":"Ada"'],
    ['a trailing comma', '{"name":"Ada",}'],
    ['single quotes', "{'name':'Ada'}"],
    ['empty', ''],
    ['deeply nested', '['.repeat(30_000)],
  ])('unparsable JSON (%s): 400', async (_, body) => {
    const reply = await call('POST', '/users', { body, headers: { 'content-type': 'application/json' } })
    expect(expectProblem(reply, 400).detail).toBe('The request body is not valid JSON')
  })

  test('a body nested thousands of levels deep: a quick 400, never a 500', async () => {
    const started = performance.now()
    for (const body of [`${'['.repeat(30_000)}${']'.repeat(30_000)}`, `{"name":${'['.repeat(10_000)}${']'.repeat(10_000)}}`]) {
      const reply = await call('POST', '/users', { body, headers: { 'content-type': 'application/json' } })
      expect(expectProblem(reply, 400).detail).toBe('The request body nests arrays and objects more than 32 levels deep')
    }
    // Before the depth limit, Elysia's validation error took seconds to pretty-print such a body.
    expect(performance.now() - started).toBeLessThan(1500)
  })

  test('32 levels of nesting are parsed and judged by the schema; 33 are not', async () => {
    const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`
    const input = JSON.stringify(newUser()).slice(0, -1)
    const deepest = await call('POST', '/users', { body: `${input},"extra":${nested(31)}}`, headers: { 'content-type': 'application/json' } })
    expect(expectProblem(deepest, 422).errors).toEqual([{ field: 'extra', message: 'is not allowed' }])
    const deeper = await call('POST', '/users', { body: `${input},"extra":${nested(32)}}`, headers: { 'content-type': 'application/json' } })
    expectProblem(deeper, 400)
  })

  test('invalid UTF-8: 400', async () => {
    const bytes = new Uint8Array([...Buffer.from('{"name":"'), 0xff, 0xfe, ...Buffer.from('","email":"x@example.com","age":3}')])
    const reply = await call('POST', '/users', { body: bytes, headers: { 'content-type': 'application/json' } })
    expectProblem(reply, 400)
  })

  test.each([
    ['text/plain', { 'content-type': 'text/plain' }],
    ['form data', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['no content type', {} as Record<string, string>],
  ])('a body sent as %s: 415', async (_, headers) => {
    const reply = await call('POST', '/users', { body: JSON.stringify(newUser()), headers })
    expectProblem(reply, 415)
  })

  test('a compressed body (Content-Encoding): 415 with Accept-Encoding: identity, nothing created; identity is no coding', async () => {
    const user = newUser()
    const gzipped = await call('POST', '/users', { body: Bun.gzipSync(JSON.stringify(user)), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } })
    expect(expectProblem(gzipped, 415).detail).toBe('The request body must not be compressed: send it without Content-Encoding')
    expect(gzipped.headers.get('accept-encoding')).toBe('identity')
    expect((await call('GET', `/users?email=${encodeURIComponent(user.email)}`)).body).toEqual([])
    const plain = await call('POST', '/users', { body: JSON.stringify(user), headers: { 'content-type': 'application/json', 'content-encoding': 'Identity' } })
    expect(plain.status).toBe(201)
  })

  test.each(['application/json; charset=utf-8', 'Application/JSON', 'application/merge-patch+json'])('%s counts as JSON', async (type) => {
    const reply = await call('POST', '/users', { body: JSON.stringify(newUser()), headers: { 'content-type': type } })
    expect(reply.status).toBe(201)
  })

  test('a body of exactly the limit is accepted; one byte more is 413', async () => {
    const json = JSON.stringify(newUser())
    const atLimit = json + ' '.repeat(BODY_LIMIT - Buffer.byteLength(json))
    expect(Buffer.byteLength(atLimit)).toBe(BODY_LIMIT)
    expect((await call('POST', '/users', { body: atLimit, headers: { 'content-type': 'application/json' } })).status).toBe(201)
    const over = JSON.stringify(newUser()) + ' '.repeat(BODY_LIMIT)
    const reply = await call('POST', '/users', { body: over, headers: { 'content-type': 'application/json' } })
    expect(expectProblem(reply, 413).detail).toBe(`The request body must not exceed ${BODY_LIMIT} bytes`)
  })

  test('413 without Content-Length (a streamed body)', async () => {
    const chunk = new TextEncoder().encode(' '.repeat(16_384))
    let sent = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 16) controller.enqueue(chunk)
        else controller.close()
      },
    })
    const request = new Request('http://localhost/users', { method: 'POST', body: stream, headers: { 'content-type': 'application/json' } })
    expect(request.headers.get('content-length')).toBeNull()
    const response = await handleRequest(request)
    expect(response.status).toBe(413)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    expect(sent).toBeLessThan(16)
  })

  test('the same email in another case: 409', async () => {
    const tag = unique()
    expect((await api.users.post(newUser({ email: `dup-${tag}@example.com` }))).status).toBe(201)
    const body = expectProblem(await post(newUser({ email: `DUP-${tag}@EXAMPLE.com` })), 409)
    expect(body.detail).toBe('A user with this email already exists')
    expect(body.errors).toEqual([{ field: 'email', message: 'is already taken' }])
  })

  test('20 concurrent creates of one new email: exactly one 201, the rest 409', async () => {
    const email = `contended-${unique()}@example.com`
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => post({ name: `Contender ${i}`, email, age: 20 })))
    const statuses = replies.map((reply) => reply.status).sort()
    expect(statuses).toEqual([201, ...Array(19).fill(409)])
    const listed = await api.users.get({ query: { email } })
    expect(listed.data).toHaveLength(1)
  })

  test('a client cannot set id, created_at or updated_at', async () => {
    for (const field of ['id', 'created_at', 'updated_at']) {
      const body = expectProblem(await post({ ...newUser(), [field]: field === 'id' ? 1 : '2000-01-01T00:00:00.000Z' }), 422)
      expect(body.errors).toEqual([{ field, message: 'is not allowed' }])
    }
  })
})
