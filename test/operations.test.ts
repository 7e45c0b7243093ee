import { describe, expect, test } from 'bun:test'
import { testDatabase } from './support/database'
import { buildApp, call, createUser, expectProblem, logLines, newUser } from './support/http'

describe('request logs', () => {
  test('one JSON line per request: time, level, request_id, method, route, status, duration_ms', async () => {
    const user = await createUser()
    await call('GET', `/users/${user.id}`, { headers: { 'x-request-id': 'log-200' } })
    await call('GET', '/users/abc', { headers: { 'x-request-id': 'log-422' } })
    await call('GET', '/nowhere', { headers: { 'x-request-id': 'log-404' } })
    await Bun.sleep(10)
    const line = (id: string) => logLines.filter((entry) => entry.request_id === id && entry.message === 'request')
    for (const [id, route, status] of [['log-200', '/users/:id', 200], ['log-422', '/users/:id', 422], ['log-404', 'unmatched', 404]] as const) {
      expect(line(id)).toHaveLength(1)
      const entry = line(id)[0]!
      expect(Object.keys(entry).sort()).toEqual(['duration_ms', 'level', 'message', 'method', 'request_id', 'route', 'status', 'time'])
      expect(entry).toMatchObject({ level: 'info', method: 'GET', route, status })
      expect(entry.duration_ms).toBeGreaterThanOrEqual(0)
      expect(new Date(entry.time).toISOString()).toBe(entry.time)
    }
  })

  test('no email address or body is logged at info', async () => {
    const input = newUser({ email: `secret-${Date.now()}@example.com` })
    await call('POST', '/users', { json: input, headers: { 'x-request-id': 'log-secret' } })
    await call('POST', '/users', { json: { ...input, age: 'x' }, headers: { 'x-request-id': 'log-secret-422' } })
    await Bun.sleep(10)
    const text = JSON.stringify(logLines.filter((entry) => entry.level !== 'debug'))
    expect(text).toContain('log-secret')
    expect(text).not.toContain(input.email)
    expect(text).not.toContain(input.name)
  })
})

describe('security headers', () => {
  test('API responses forbid sniffing, framing and loading anything', async () => {
    for (const reply of [await call('GET', '/'), await call('GET', '/users/abc'), await call('GET', '/nowhere'), await call('GET', '/openapi.json')]) {
      expect(reply.headers.get('x-content-type-options')).toBe('nosniff')
      expect(reply.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'")
    }
  })

  test('the docs page may run its own scripts and styles, from the service only', async () => {
    const reply = await call('GET', '/docs')
    expect(reply.headers.get('x-content-type-options')).toBe('nosniff')
    const policy = reply.headers.get('content-security-policy')!
    expect(policy).toStartWith("default-src 'self'; script-src 'self' 'unsafe-inline'")
    expect(policy).toContain("connect-src 'self'")
    expect(policy).not.toContain('http')
  })
})

describe('CORS', () => {
  test('off by default: no CORS headers, even for an Origin', async () => {
    const reply = await call('GET', '/', { headers: { origin: 'https://evil.example' } })
    expect(reply.headers.get('access-control-allow-origin')).toBeNull()
    expect(reply.headers.get('access-control-allow-credentials')).toBeNull()
    // A browser's preflight carries no credentials.
    const preflight = await call('OPTIONS', '/users', { headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' }, token: null })
    expect(preflight.status).toBe(405)
  })

  test('CORS_ORIGINS: only the listed origins, never with credentials', async () => {
    const app = buildApp((await testDatabase()).sql, { corsOrigins: ['https://app.example.com'] })
    const allowed = await call('GET', '/users?limit=1', { headers: { origin: 'https://app.example.com' } }, app)
    expect(allowed.status).toBe(200)
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull()
    expect(allowed.headers.get('access-control-expose-headers')).toContain('x-request-id')
    const other = await call('GET', '/users?limit=1', { headers: { origin: 'https://evil.example' } }, app)
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
    const preflight = await call('OPTIONS', '/users', { headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' }, token: null }, app)
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization')
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET, HEAD, POST, PATCH, DELETE')
    const error = await call('GET', '/users/abc', { headers: { origin: 'https://app.example.com' } }, app)
    expectProblem(error, 422)
    expect(error.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expectProblem(await call('GET', '/nowhere', {}, app), 404)
  })

  test('CORS_ORIGINS: an OPTIONS that is no preflight, or a preflight for no route of ours, is answered like any other method', async () => {
    const app = buildApp((await testDatabase()).sql, { corsOrigins: ['https://app.example.com'] })
    const plain = await call('OPTIONS', '/users/1', { token: null }, app)
    expect(expectProblem(plain, 405).detail).toBe('OPTIONS is not allowed here')
    expect(plain.headers.get('allow')).toBe('DELETE, GET, HEAD, PATCH')
    const preflight = { origin: 'https://app.example.com', 'access-control-request-method': 'GET' }
    expect(expectProblem(await call('OPTIONS', '/nope/at/all', { headers: preflight, token: null }, app), 404).detail).toBe('No such resource')
    expectProblem(await call('OPTIONS', '/nope/at/all', { token: null }, app), 404)
    const served = await call('OPTIONS', '/users/1', { headers: preflight, token: null }, app)
    expect(served.status).toBe(204)
    expect(served.headers.get('access-control-max-age')).toBe('600')
  })
})

describe('rate limiting', () => {
  test('with CORS on, a 429 names the origin too, so a page can read it and its Retry-After (preflights as well)', async () => {
    const origin = 'https://app.example.com'
    const app = buildApp((await testDatabase()).sql, { rateLimit: 2, rateLimitWindow: 60, corsOrigins: [origin] })
    // Used up (the first call also reads the OpenAPI document through the app, which counts).
    for (let i = 0; i < 2; i++) await call('GET', '/', { headers: { origin }, token: null }, app)
    for (const reply of [
      await call('GET', '/users', { headers: { origin }, token: null }, app),
      await call('OPTIONS', '/users', { headers: { origin, 'access-control-request-method': 'POST' }, token: null }, app),
    ]) {
      expect(expectProblem(reply, 429).detail).toBe('Too many requests from this client; slow down')
      expect(reply.headers.get('access-control-allow-origin')).toBe(origin)
      expect(reply.headers.get('vary')).toBe('Origin')
      expect(reply.headers.get('access-control-expose-headers')).toContain('retry-after')
      expect(Number(reply.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    }
  })

  test('RATE_LIMIT requests per window per client, then 429 with Retry-After', async () => {
    const app = buildApp((await testDatabase()).sql, { rateLimit: 3, rateLimitWindow: 60 })
    for (let i = 0; i < 3; i++) expect((await call('GET', '/', {}, app)).status).toBe(200)
    const limited = await call('GET', '/users', {}, app)
    const body = expectProblem(limited, 429)
    expect(body.detail).toBe('Too many requests from this client; slow down')
    const wait = Number(limited.headers.get('retry-after'))
    expect(wait).toBeGreaterThanOrEqual(1)
    expect(wait).toBeLessThanOrEqual(60)
  })

  test('clients are counted apart, by address', async () => {
    const app = buildApp((await testDatabase()).sql, { rateLimit: 2, rateLimitWindow: 60 }).listen({ port: 0, hostname: '127.0.0.1' })
    try {
      const base = `http://127.0.0.1:${app.server!.port}`
      expect((await fetch(`${base}/`)).status).toBe(200)
      expect((await fetch(`${base}/`)).status).toBe(200)
      expect((await fetch(`${base}/`)).status).toBe(429)
      // The same limit for an app.handle() caller, which has no address: its own bucket.
      expect((await call('GET', '/', {}, app)).status).toBe(200)
    } finally {
      await app.stop(true)
    }
  })
})

describe('readiness and draining', () => {
  test('before migrations: readyz and user routes answer 503; health still 200', async () => {
    const app = buildApp((await testDatabase()).sql, {}, { migrated: false, draining: false })
    expect((await call('GET', '/', {}, app)).status).toBe(200)
    const ready = await call('GET', '/readyz', {}, app)
    expect(expectProblem(ready, 503)).toMatchObject({ detail: 'The database is not ready yet', database: 'down' })
    const users = await call('GET', '/users', {}, app)
    expect(expectProblem(users, 503).detail).toBe('The database is not ready yet; try again shortly')
    expect(users.headers.get('retry-after')).toBe('5')
  })

  test('while draining: readyz answers 503, requests already accepted are served', async () => {
    const state = { migrated: true, draining: true }
    const app = buildApp((await testDatabase()).sql, {}, state)
    const ready = await call('GET', '/readyz', {}, app)
    expect(expectProblem(ready, 503).detail).toBe('The service is shutting down')
    expect((await call('GET', '/users?limit=1', {}, app)).status).toBe(200)
  })
})

describe('slow and idle clients', () => {
  test('200 connections that idle or trickle headers do not starve others', async () => {
    const app = buildApp((await testDatabase()).sql).listen({ port: 0, hostname: '127.0.0.1', idleTimeout: 2 })
    try {
      const port = app.server!.port!
      const sockets = await Promise.all(Array.from({ length: 200 }, () => Bun.connect({ hostname: '127.0.0.1', port, socket: { data() {} } })))
      sockets.forEach((socket, i) => i % 2 === 0 && socket.write('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: '))
      const started = performance.now()
      const replies = await Promise.all(Array.from({ length: 20 }, () => fetch(`http://127.0.0.1:${port}/`)))
      expect(replies.map((reply) => reply.status)).toEqual(Array(20).fill(200))
      expect(performance.now() - started).toBeLessThan(1000)
      for (const socket of sockets) socket.end()
    } finally {
      await app.stop(true)
    }
  })

  test('an idle keep-alive connection and a trickling body are closed after IDLE_TIMEOUT', async () => {
    const app = buildApp((await testDatabase()).sql).listen({ port: 0, hostname: '127.0.0.1', idleTimeout: 2 })
    try {
      const port = app.server!.port!
      const closedAt: Record<string, number> = {}
      const started = performance.now()
      const open = (label: string, payload: string) =>
        Bun.connect({
          hostname: '127.0.0.1',
          port,
          socket: { open: (socket) => void socket.write(payload), data() {}, close: () => void (closedAt[label] = performance.now() - started) },
        })
      await open('keep-alive', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
      await open('trickling body', 'POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na')
      // Bun checks idle connections in ticks of about 4 s, so a close comes up to a tick early or
      // late: allow the timeout plus a tick and a margin.
      while (Object.keys(closedAt).length < 2 && performance.now() - started < 8000) await Bun.sleep(100)
      expect(Object.keys(closedAt).sort()).toEqual(['keep-alive', 'trickling body'])
    } finally {
      await app.stop(true)
    }
  })
})
