import { describe, expect, test } from 'bun:test'
import SwaggerParser from '@apidevtools/swagger-parser'
import postgres from 'postgres'
import { AUTH_ON, STATIC_KEY_CONFIG, buildApp, call, createUser, expectProblem, logLines, staticKeyToken, suiteAdminToken } from './support/http'
import { serverUrl, testDatabase } from './support/database'
import { rawRequest } from './support/raw-http'

describe('X-Request-Id', () => {
  test('a sane client id is echoed, on success and on error', async () => {
    const id = `Abc.123_x-${'y'.repeat(100)}`.slice(0, 128)
    expect((await call('GET', '/', { headers: { 'x-request-id': id } })).headers.get('x-request-id')).toBe(id)
    expect((await call('GET', '/users/0', { headers: { 'x-request-id': id } })).headers.get('x-request-id')).toBe(id)
    expect((await call('GET', '/nowhere', { headers: { 'x-request-id': id } })).headers.get('x-request-id')).toBe(id)
  })

  test.each([
    ['too long', 'a'.repeat(129)],
    ['with spaces', 'a b'],
    ['with a slash', 'a/b'],
    ['with a quote', 'a"b'],
    ['with non-ASCII', 'idé'],
  ])('an id %s is replaced by a new one', async (_, id) => {
    const reply = await call('GET', '/', { headers: { 'x-request-id': encodeURI(id) === id ? id : encodeURI(id) } })
    const given = reply.headers.get('x-request-id')!
    expect(given).toMatch(/^[0-9a-f-]{36}$/)
  })

  test('without one, each response gets its own', async () => {
    const a = (await call('GET', '/')).headers.get('x-request-id')
    const b = (await call('GET', '/')).headers.get('x-request-id')
    expect(a).toMatch(/^[0-9a-f-]{36}$/)
    expect(b).toMatch(/^[0-9a-f-]{36}$/)
    expect(a).not.toBe(b)
  })
})

describe('odd requests', () => {
  test('a missing or broken Host header is still a proper problem (no stack, no 500)', async () => {
    const { sql } = await testDatabase()
    const server = buildApp(sql).listen({ port: 0, hostname: '127.0.0.1' })
    try {
      const port = server.server!.port!
      const authorization = `Authorization: Bearer ${await suiteAdminToken()}\r\n`
      for (const head of ['GET /nowhere HTTP/1.0\r\n', 'GET /nowhere HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n']) {
        const reply = await rawRequest(port, `${head}\r\n`)
        expect(reply).toStartWith('HTTP/1.1 404')
        expect(reply.toLowerCase()).toContain('content-type: application/problem+json')
        expect(reply).toContain('"detail":"No such resource"')
      }
      await createUser()
      await createUser()
      const listed = await rawRequest(port, `GET /users?limit=1 HTTP/1.1\r\nHost: x:99999\r\n${authorization}Connection: close\r\n\r\n`)
      expect(listed).toStartWith('HTTP/1.1 200')
      expect(listed).toMatch(/\r\nlink: <\/users\?limit=1&after=\d+>; rel="next"\r\n/i)
    } finally {
      await server.stop(true)
    }
  })

  // Elysia finds the path by skipping what it takes for the shortest host (11 characters of
  // `http://a.bc`) unless told otherwise: behind `Host: app` it read `/users/1/` as `/1/`. Without a
  // Host (HTTP/1.0), or with one that cannot be in a URL, Bun's URL is the bare path, which only
  // our patch of Elysia reads from its start (`/readyz/` was `/`, and answered as liveness).
  test.each([
    ['a short Host (a service named app)', 'HTTP/1.1\r\nHost: app'],
    ['no Host (HTTP/1.0)', 'HTTP/1.0'],
    ['a Host no URL can hold', 'HTTP/1.1\r\nHost: a b'],
  ])('%s: routes as any other request', async (_, version) => {
    const { sql } = await testDatabase()
    const server = buildApp(sql).listen({ port: 0, hostname: '127.0.0.1' })
    try {
      const port = server.server!.port!
      const id = (await createUser()).id
      const token = await suiteAdminToken()
      const ask = (line: string) => rawRequest(port, `${line} ${version}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`)
      const read = await ask(`GET /users/${id}/`)
      expect(read).toStartWith('HTTP/1.1 200')
      expect(read).toContain(`{"id":${id},`)
      const put = await ask(`PUT /users/${id}/`)
      expect(put).toStartWith('HTTP/1.1 405')
      expect(put).toMatch(/\r\nallow: DELETE, GET, HEAD, PATCH\r\n/i)
      const ready = await ask('GET /readyz/')
      expect(ready).toStartWith('HTTP/1.1 200')
      expect(ready).toEndWith('{"status":"ok","database":"ok"}')
      const page = await ask('GET /users/?limit=1')
      expect(page).toStartWith('HTTP/1.1 200')
      expect(page).toMatch(/\r\nlink: <\/users\?limit=1&after=\d+>; rel="next"\r\n/i)
    } finally {
      await server.stop(true)
    }
  })

  test.each([
    ['name', '/users?name=%E0%A4%A', 'name'],
    ['email', '/users?email=a%ZZb@example.com', 'email'],
  ])('broken percent-encoding in %s: 422 naming it', async (_, path, field) => {
    const body = expectProblem(await call('GET', path), 422)
    expect(body.errors).toEqual([{ field, message: 'is not valid percent-encoding' }])
  })

  test("a broken value is listed with the query's other violations; in an unknown parameter it is ignored, as the parameter is", async () => {
    const body = expectProblem(await call('GET', '/users?name=%ZZ&limit=0&after=x'), 422)
    expect(body.errors).toEqual([
      { field: 'limit', message: 'must be an integer from 1 to 1000, written in decimal digits' },
      { field: 'after', message: 'must be an integer from 0 to 9007199254740991, written in decimal digits' },
      { field: 'name', message: 'is not valid percent-encoding' },
    ])
    const created = await createUser()
    const listed = await call('GET', `/users?%ZZ=1&x=%E0%A4%A&email=${encodeURIComponent(created.email)}`)
    expect(listed.status).toBe(200)
    expect(listed.body).toEqual([created])
    // Nor does a route without query parameters read any.
    expect((await call('GET', '/?x=%ZZ')).body).toEqual({ status: 'ok' })
  })

  test('a bad path and a bad body: both listed', async () => {
    const body = expectProblem(await call('PATCH', '/users/0', { json: { age: 'x', zz: 1 } }), 422)
    expect(body.errors).toEqual([
      { field: 'id', message: 'must be an integer from 1 to 9007199254740991, written in decimal digits' },
      { field: 'zz', message: 'is not allowed' },
      { field: 'age', message: 'must be a JSON integer' },
    ])
    const empty = expectProblem(await call('PATCH', '/users/abc', { json: {} }), 422)
    expect(empty.errors!.map((error) => error.field)).toEqual(['id', 'body'])
  })

  test('at most 100 violations are listed, and long field names are cut to 100 characters', async () => {
    const junk = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`junk${i}`, i]))
    const many = expectProblem(await call('POST', '/users', { json: { ...junk, name: 'A', email: 'a@example.com', age: 3 } }), 422)
    expect(many.errors).toHaveLength(100)
    const long = expectProblem(await call('POST', '/users', { json: { ['k'.repeat(5000)]: 1, name: 'A', email: 'a@example.com', age: 3 } }), 422)
    expect(long.errors).toEqual([{ field: 'k'.repeat(100), message: 'is not allowed' }])
  })
})

describe('routing', () => {
  test('an unknown route: 404 problem', async () => {
    const body = expectProblem(await call('GET', '/nowhere'), 404)
    expect(body).toEqual({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'No such resource' })
    expectProblem(await call('POST', '/users/1/friends', { json: {} }), 404)
  })

  test.each([
    ['GET', '//'],
    ['POST', '//'],
    ['GET', '//users'],
    ['DELETE', '/users//'],
  ])('%s %s is no path of ours: 404, not a 405 that allows the method used', async (method, path) => {
    const reply = await call(method, path)
    expect(expectProblem(reply, 404).detail).toBe('No such resource')
    expect(reply.headers.get('allow')).toBeNull()
  })

  test.each([
    ['PUT', '/users/1', 'DELETE, GET, HEAD, PATCH'],
    ['POST', '/users/1', 'DELETE, GET, HEAD, PATCH'],
    ['DELETE', '/users', 'GET, HEAD, POST'],
    ['PATCH', '/users', 'GET, HEAD, POST'],
    ['POST', '/', 'GET, HEAD'],
    ['DELETE', '/readyz', 'GET, HEAD'],
  ])('%s %s: 405 with Allow: %s', async (method, path, allow) => {
    const reply = await call(method, path, { json: { name: 'x' } })
    const body = expectProblem(reply, 405)
    expect(reply.headers.get('allow')).toBe(allow)
    expect(body.detail).toBe(`${method} is not allowed here`)
  })

  // Elysia 1.4 decides whether to await a handler from its source text: declared async, or `=> f(` /
  // `return f(` in it, or the words async/await. Any other handler's promise is returned unawaited,
  // and its rejection escapes the error handler (`cond ? a() : b()` did, at /auth/token).
  test('Elysia awaits every route handler but the synchronous ones', async () => {
    const AWAITED = /(?:return|=>)\s?\S+\(|a(?:sync|wait)/
    const app = buildApp((await testDatabase()).sql)
    const notAwaited = app.routes
      .filter(({ handler }) => typeof handler === 'function' && handler.constructor.name !== 'AsyncFunction' && !AWAITED.test(handler.toString()))
      .map(({ method, path }) => `${method} ${path}`)
    // `GET /` returns an object: nothing to await.
    expect(notAwaited).toEqual(['GET /'])
  })
})

describe('health', () => {
  test('GET / is 200 {"status":"ok"}', async () => {
    const reply = await call('GET', '/')
    expect(reply.status).toBe(200)
    expect(reply.headers.get('content-type')).toStartWith('application/json')
    expect(reply.body).toEqual({ status: 'ok' })
  })

  test('GET /readyz is 200 when the database answers', async () => {
    const reply = await call('GET', '/readyz')
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({ status: 'ok', database: 'ok' })
  })
})

describe('database unreachable', () => {
  // A real client aimed at a port where no server listens: every query fails to connect.
  const unreachable = postgres('postgres://postgres@127.0.0.1:9/none', { max: 1, connect_timeout: 1, onnotice: () => {} })
  // A configured key (a generated one lives in the database): the token is checked without it.
  const app = buildApp(unreachable, STATIC_KEY_CONFIG)
  const withToken = async (json?: unknown) => ({ json, token: await staticKeyToken() })

  test('GET / still answers: it never touches the database', async () => {
    expect((await call('GET', '/', {}, app)).status).toBe(200)
  })

  test('GET /readyz: 503 with Retry-After, database down', async () => {
    const reply = await call('GET', '/readyz', {}, app)
    const body = expectProblem(reply, 503)
    expect(body).toMatchObject({ status: 503, database: 'down' })
    expect(reply.headers.get('retry-after')).toBe('5')
  })

  test.each([
    ['GET', '/users', undefined],
    ['GET', '/users/1', undefined],
    ['POST', '/users', { name: 'A', email: 'a@example.com', age: 3 }],
    ['PATCH', '/users/1', { age: 3 }],
    ['PATCH', '/users/1', { password: 'violet unreachable harbour lantern' }],
    ['DELETE', '/users/1', undefined],
  ])('%s %s: 503 with Retry-After, no driver message', async (method, path, json) => {
    const reply = await call(method, path, await withToken(json), app)
    const body = expectProblem(reply, 503)
    expect(body.detail).toBe('The database is unavailable; try again shortly')
    expect(reply.headers.get('retry-after')).toBe('5')
    expect(reply.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|postgres/i)
  })

  test('a host name that does not resolve: 503 as well', async () => {
    const nowhere = postgres('postgres://postgres@db.invalid/none', { max: 1, connect_timeout: 2, onnotice: () => {} })
    const reply = await call('GET', '/users/1', await withToken(), buildApp(nowhere, STATIC_KEY_CONFIG))
    expect(expectProblem(reply, 503).detail).toBe('The database is unavailable; try again shortly')
    await nowhere.end({ timeout: 1 })
  })

  // With a token, the token comes first, and checking it needs the database (test/auth/token-first.test.ts).
  test('without a token to check, validation still comes first: 422 without the database', async () => {
    expectProblem(await call('GET', '/users/abc', { token: null }, buildApp(unreachable, { auth: false })), 422)
  })
})

describe.skipIf(!serverUrl)('database too slow (PostgreSQL server)', () => {
  test('a statement blocked past the statement timeout: 503, not a hang', async () => {
    const { sql } = await testDatabase()
    const user = await createUser()
    const blocker = await sql.reserve()
    try {
      await blocker`begin`
      await blocker`lock table users in access exclusive mode`
      const started = performance.now()
      const reply = await call('GET', `/users/${user.id}`)
      expect(expectProblem(reply, 503).detail).toBe('The database is unavailable; try again shortly')
      expect(reply.headers.get('retry-after')).toBe('5')
      expect(performance.now() - started).toBeLessThan(15_000)
    } finally {
      await blocker`rollback`
      blocker.release()
    }
  })
})

describe('unexpected errors', () => {
  test('500 with a generic body; the error is logged once with the request id', async () => {
    const { sql } = await testDatabase()
    const user = await createUser()
    // A real failure the service does not expect: its table is gone for a moment.
    await sql`alter table users rename to users_away`
    let reply
    try {
      reply = await call('GET', `/users/${user.id}`, { headers: { 'x-request-id': 'trace-500' } })
    } finally {
      await sql`alter table users_away rename to users`
    }
    const body = expectProblem(reply, 500)
    expect(body).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'Something went wrong on our side; the request id identifies it in our logs',
    })
    expect(reply.text).not.toMatch(/relation|users_away|select|\/work\/|\.ts/i)
    const logged = logLines.filter((line) => line.request_id === 'trace-500' && line.level === 'error')
    expect(logged).toHaveLength(1)
    expect(logged[0]).toMatchObject({ level: 'error', message: 'unexpected error' })
    expect(logged[0]!.error.stack).toBeString()
  })
})

describe('docs', () => {
  test('GET /docs is an HTML page', async () => {
    const reply = await call('GET', '/docs')
    expect(reply.status).toBe(200)
    expect(reply.headers.get('content-type')).toStartWith('text/html')
    expect(reply.text).toContain('data-url="/openapi.json"')
  })

  test('GET /openapi.json describes every route, parameter, body and status code', async () => {
    const reply = await call('GET', '/openapi.json')
    expect(reply.status).toBe(200)
    expect(reply.headers.get('content-type')).toStartWith('application/json')
    expect(reply.body.openapi).toStartWith('3.')
    // Valid OpenAPI, with every $ref resolved so the checks below see the schemas themselves.
    const doc: any = await SwaggerParser.validate(structuredClone(reply.body))
    const operations = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, operation })),
    )
    const statuses = Object.fromEntries(operations.map(({ key, operation }) => [key, Object.keys(operation.responses).sort()]))
    // With access control (the default), every users operation can also answer 401 and 403.
    const guarded = AUTH_ON ? ['401', '403'] : []
    const sorted = (...codes: string[]) => [...codes, ...guarded].sort()
    const me: Record<string, string[]> = AUTH_ON
      ? {
          'GET /users/me': sorted('200', '304', '404', '412', '422', '429', '500', '503'),
          'PATCH /users/me': sorted('200', '400', '404', '409', '412', '413', '415', '422', '428', '429', '500', '503'),
          'DELETE /users/me': sorted('204', '404', '409', '412', '422', '428', '429', '500', '503'),
          'POST /auth/token': ['200', '400', '401', '413', '415', '422', '429', '500', '503'],
          'POST /auth/refresh': ['200', '400', '401', '413', '415', '422', '429', '500', '503'],
          'POST /auth/logout': ['204', '400', '401', '413', '415', '422', '429', '500', '503'],
        }
      : {}
    expect(statuses).toEqual({
      'GET /': ['200', '429', '500'],
      'GET /readyz': ['200', '429', '500', '503'],
      'POST /users': sorted('201', '400', '409', '413', '415', '422', '429', '500', '503'),
      'GET /users': sorted('200', '422', '429', '500', '503'),
      'GET /users/{id}': sorted('200', '304', '404', '412', '422', '429', '500', '503'),
      'PATCH /users/{id}': sorted('200', '400', '404', '409', '412', '413', '415', '422', '428', '429', '500', '503'),
      'DELETE /users/{id}': sorted('204', '404', '409', '412', '422', '428', '429', '500', '503'),
      ...me,
    })
    const op = (key: string) => operations.find((entry) => entry.key === key)!.operation
    const create = op('POST /users')
    expect(Object.keys(create.requestBody.content)).toEqual(['application/json'])
    const createSchema = create.requestBody.content['application/json'].schema
    expect(createSchema.required.sort()).toEqual(['age', 'email', 'name'])
    expect(createSchema.properties.password).toMatchObject({ type: 'string', minLength: 15, maxLength: 128 })
    expect(createSchema.properties.role).toMatchObject({ enum: ['user', 'admin'] })
    if (AUTH_ON) {
      expect(create.security).toEqual([{ bearerAuth: [] }, { oauth2: [] }])
      expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearerAuth', 'oauth2'])
      expect(doc.components.securitySchemes.oauth2.flows).toEqual({ password: { tokenUrl: '/auth/token', refreshUrl: '/auth/token', scopes: {} } })
      expect(Object.keys(op('POST /auth/token').requestBody.content)).toEqual(['application/json', 'application/x-www-form-urlencoded'])
      expect(Object.keys(op('POST /auth/refresh').requestBody.content)).toEqual(['application/json'])
      expect(create.responses['401'].headers['WWW-Authenticate']).toBeDefined()
      expect(op('POST /auth/logout').responses['204'].headers['Cache-Control'].schema.enum).toEqual(['no-store'])
      expect(doc.tags.map((tag: { name: string }) => tag.name)).toEqual(['users', 'auth', 'health'])
      expect(create.description).toContain('Admins only;')
      expect(op('PATCH /users/{id}').description).toContain('changing your own password needs `current_password`')
    } else {
      // Nothing to log in with: the docs page shows no log-in dialog, no empty auth section, and
      // the operations say nothing of admins, tokens or current passwords.
      expect(doc.components.securitySchemes).toBeUndefined()
      expect(doc.tags.map((tag: { name: string }) => tag.name)).toEqual(['users', 'health'])
      for (const { key, operation } of operations) expect([key, operation.description]).not.toEqual([key, expect.stringMatching(/admins|token|current_password/)])
      expect(op('PATCH /users/{id}').description).toBe(
        'Any non-empty subset of the fields, under the rules of create; `updated_at` moves. Demoting the last admin is a 409.',
      )
    }
    // Every response of every operation, 5xx included, says its request id and the rate limit.
    for (const { key, operation } of operations)
      for (const [status, response] of Object.entries(operation.responses as Record<string, any>))
        expect([key, status, Object.keys(response.headers ?? {}).filter((name) => ['X-Request-Id', 'RateLimit', 'RateLimit-Policy'].includes(name)).sort()]).toEqual([
          key,
          status,
          ['RateLimit', 'RateLimit-Policy', 'X-Request-Id'],
        ])
    // Bare, 255 characters; quoted with every one escaped, 512.
    expect(create.parameters.find((parameter: { name: string }) => parameter.name === 'Idempotency-Key').schema).toMatchObject({ maxLength: 512, pattern: '^[\\x20-\\x7e]{1,512}$' })
    expect(createSchema.additionalProperties).toBe(false)
    expect(createSchema.properties.age).toMatchObject({ type: 'integer', minimum: 1, maximum: 120 })
    expect(createSchema.properties.name).toMatchObject({ type: 'string', minLength: 1, maxLength: 100 })
    expect(createSchema.properties.email).toMatchObject({ type: 'string', format: 'email', maxLength: 254 })
    expect(create.responses['201'].headers.Location).toBeDefined()
    expect(Object.keys(create.responses['409'].content)).toEqual(['application/problem+json'])
    expect(create.responses['503'].headers['Retry-After']).toBeDefined()
    // Every operation's 429: wait, and store nothing.
    for (const { key, operation } of operations) {
      const { headers } = operation.responses['429']
      expect([key, Object.keys(headers).sort(), headers['Cache-Control'].schema.enum]).toEqual([
        key,
        ['Cache-Control', 'RateLimit', 'RateLimit-Policy', 'Retry-After', 'X-Request-Id'],
        ['no-store'],
      ])
    }
    expect(op('PATCH /users/{id}').requestBody.content['application/json'].schema.minProperties).toBe(1)
    const listParams = op('GET /users').parameters.map((p: any) => `${p.in}:${p.name}`).sort()
    expect(listParams).toEqual(['query:after', 'query:email', 'query:limit', 'query:max_age', 'query:min_age', 'query:name'])
    expect(op('GET /users').responses['200'].headers.Link).toBeDefined()
    for (const key of ['GET /users/{id}', 'PATCH /users/{id}', 'DELETE /users/{id}']) {
      const id = op(key).parameters.find((p: any) => p.name === 'id')
      expect(id).toMatchObject({ in: 'path', required: true, schema: { type: 'integer', minimum: 1 } })
      // Reads and changes take both conditional headers.
      expect(op(key).parameters.filter((p: any) => p.in === 'header').map((p: any) => p.name).sort()).toEqual(['If-Match', 'If-None-Match'])
    }
  })
})
