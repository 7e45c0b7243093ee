import { afterEach, describe, expect, setSystemTime, test } from 'bun:test'
import { clientAddress } from '../../src/http/client-address'
import { rateLimit } from '../../src/http/rate-limit'
import { appWithProblems, send } from './support'

const TOO_MANY = { type: 'about:blank', title: 'Too Many Requests', status: 429, detail: 'Too many requests from this client; slow down' }

const build = (limit: number, windowSeconds: number) =>
  appWithProblems()
    .use(rateLimit({ limit, windowSeconds }))
    .get('/', () => ({ ok: true }))

afterEach(() => setSystemTime())

describe('rateLimit({ limit, windowSeconds })', () => {
  test('limit 2: the third request in the window is a 429 with Retry-After and the problem body', async () => {
    setSystemTime(new Date('2026-01-01T00:00:00.000Z'))
    const app = build(2, 60)
    for (const left of [1, 0]) {
      const reply = await send(app, '/')
      expect(reply.status).toBe(200)
      expect(reply.headers.get('retry-after')).toBeNull()
      expect(reply.headers.get('ratelimit-policy')).toBe('"default";q=2;w=60')
      expect(reply.headers.get('ratelimit')).toBe(`"default";r=${left};t=60`)
    }
    const refused = await send(app, '/')
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('60')
    expect(refused.headers.get('cache-control')).toBe('no-store')
    expect(refused.headers.get('ratelimit-policy')).toBe('"default";q=2;w=60')
    expect(refused.headers.get('ratelimit')).toBe('"default";r=0;t=60')
    expect(refused.headers.get('content-type')).toBe('application/problem+json')
    expect(refused.body).toEqual(TOO_MANY)
  })

  test('Retry-After counts down to the end of the window, and then the client may go again', async () => {
    const start = Date.parse('2026-01-01T00:00:00.000Z')
    setSystemTime(new Date(start))
    const app = build(1, 60)
    expect((await send(app, '/')).status).toBe(200)
    setSystemTime(new Date(start + 45_500))
    const refused = await send(app, '/')
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('15')
    expect(refused.headers.get('ratelimit')).toBe('"default";r=0;t=15')
    setSystemTime(new Date(start + 60_000))
    expect((await send(app, '/')).status).toBe(200)
    expect((await send(app, '/')).status).toBe(429)
  })

  test('under app.handle there is no client address: every request counts as the one client "unknown"', async () => {
    const app = build(1, 60)
    expect((await send(app, '/', { headers: { 'x-forwarded-for': '192.0.2.1' } })).status).toBe(200)
    // A forwarded-for header names no other client: it is not trusted.
    expect((await send(app, '/', { headers: { 'x-forwarded-for': '192.0.2.2' } })).status).toBe(429)
  })

  test('a 404 carries the headers too: every response says where the client stands', async () => {
    setSystemTime(new Date('2026-01-01T00:00:30.000Z'))
    const app = build(5, 60)
    const missing = await send(app, '/nowhere')
    expect(missing.status).toBe(404)
    expect(missing.headers.get('ratelimit')).toBe('"default";r=4;t=30')
  })

  test('windows are aligned to the clock: a request late in a window resets with it', async () => {
    setSystemTime(new Date('2026-01-01T00:00:59.200Z'))
    const app = build(1, 60)
    expect((await send(app, '/')).headers.get('ratelimit')).toBe('"default";r=0;t=1')
    setSystemTime(new Date('2026-01-01T00:01:00.000Z'))
    const next = await send(app, '/')
    expect(next.status).toBe(200)
    expect(next.headers.get('ratelimit')).toBe('"default";r=0;t=60')
  })

  test('limit 0 turns it off: no 429 and no Retry-After however many requests', async () => {
    const app = build(0, 60)
    for (let i = 0; i < 5; i++) {
      const reply = await send(app, '/')
      expect(reply.status).toBe(200)
      expect(reply.headers.get('retry-after')).toBeNull()
      expect(reply.headers.get('ratelimit-policy')).toBeNull()
      expect(reply.headers.get('ratelimit')).toBeNull()
      expect(reply.body).toEqual({ ok: true })
    }
  })

  test('over a real socket the client address is the counter key', async () => {
    setSystemTime(new Date('2026-01-01T00:00:00.000Z'))
    const app = build(2, 60)
    const server = app.listen({ port: 0, hostname: '127.0.0.1' })
    try {
      const url = `http://127.0.0.1:${server.server!.port}/`
      expect((await fetch(url)).status).toBe(200)
      expect((await fetch(url)).status).toBe(200)
      const refused = await fetch(url)
      expect(refused.status).toBe(429)
      expect(refused.headers.get('retry-after')).toBe('60')
      expect(await refused.json()).toEqual(TOO_MANY)
      // 127.0.0.1 has spent its quota; the address-less client of app.handle has not.
      expect((await send(app, '/')).status).toBe(200)
    } finally {
      await server.stop(true)
    }
  })

  test('an IPv6 client is its /64: another address in it shares the budget, the next /64 has its own', async () => {
    setSystemTime(new Date('2026-01-01T00:00:00.000Z'))
    const app = appWithProblems()
      .use(rateLimit({ limit: 2, windowSeconds: 60, clientOf: clientAddress(['127.0.0.1']) }))
      .get('/', () => ({ ok: true }))
    const server = app.listen({ port: 0, hostname: '127.0.0.1' })
    try {
      const from = (address: string) => fetch(`http://127.0.0.1:${server.server!.port}/`, { headers: { 'x-forwarded-for': address } })
      expect((await from('2001:db8:0:1::1')).status).toBe(200)
      const last = await from('2001:db8:0:1:ffff:ffff:ffff:ffff')
      expect(last.status).toBe(200)
      expect(last.headers.get('ratelimit')).toBe('"default";r=0;t=60')
      const refused = await from('2001:db8:0:1::2')
      expect(refused.status).toBe(429)
      expect(refused.headers.get('retry-after')).toBe('60')
      expect(await refused.json()).toEqual(TOO_MANY)
      const next = await from('2001:db8:0:2::1')
      expect(next.status).toBe(200)
      expect(next.headers.get('ratelimit')).toBe('"default";r=1;t=60')
    } finally {
      await server.stop(true)
    }
  })
})
