import { describe, expect, test } from 'bun:test'
import { corsPolicy, corsPreflight } from '../../src/http/cors'
import { routeTable } from '../../src/http/elysia-internals'
import { appWithProblems, send } from './support'

const ALLOWED = 'https://app.example'

const build = (origins: string[]) => {
  const app = appWithProblems()
  return app
    .use(corsPolicy({ origins }))
    .use(corsPreflight({ origins, routes: () => routeTable(app) }))
    .get('/', () => ({ ok: true }))
}

const corsHeaders = (headers: Headers) => Object.fromEntries([...headers].filter(([name]) => name.startsWith('access-control-')))

const PREFLIGHT = {
  method: 'OPTIONS',
  headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
}

describe('corsPolicy({ origins })', () => {
  test('an allowed Origin is named in Access-Control-Allow-Origin, without credentials', async () => {
    const reply = await send(build([ALLOWED, 'https://other.example']), '/', { headers: { origin: ALLOWED } })
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({ ok: true })
    expect(reply.headers.get('access-control-allow-origin')).toBe(ALLOWED)
    expect(reply.headers.get('access-control-expose-headers')).toBe('x-request-id, location, link, retry-after, www-authenticate, etag, idempotent-replayed, ratelimit, ratelimit-policy')
    expect(reply.headers.get('access-control-allow-credentials')).toBeNull()
    expect(reply.headers.get('vary')).toBe('Origin')
  })

  test('an Origin not on the list is not allowed', async () => {
    const reply = await send(build([ALLOWED]), '/', { headers: { origin: 'https://evil.example' } })
    expect(reply.status).toBe(200)
    expect(reply.headers.get('access-control-allow-origin')).toBeNull()
  })

  test('a preflight is answered 204 with the methods, headers and max age', async () => {
    const reply = await send(build([ALLOWED]), '/', PREFLIGHT)
    expect(reply.status).toBe(204)
    expect(reply.text).toBe('')
    expect(corsHeaders(reply.headers)).toEqual({
      'access-control-allow-origin': ALLOWED,
      'access-control-allow-methods': 'GET, HEAD, POST, PATCH, DELETE',
      'access-control-allow-headers': 'authorization, content-type, x-request-id, if-match, if-none-match, idempotency-key',
      'access-control-expose-headers': 'x-request-id, location, link, retry-after, www-authenticate, etag, idempotent-replayed, ratelimit, ratelimit-policy',
      'access-control-max-age': '600',
    })
  })

  test('problem responses carry the CORS headers, so a browser can read them', async () => {
    const reply = await send(build([ALLOWED]), '/nowhere', { headers: { origin: ALLOWED } })
    expect(reply.status).toBe(404)
    expect(reply.body).toEqual({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'No such resource' })
    expect(reply.headers.get('access-control-allow-origin')).toBe(ALLOWED)
  })

  test('with no origins: no CORS header at all, and a preflight is just a method the path does not serve', async () => {
    const app = build([])
    const simple = await send(app, '/', { headers: { origin: ALLOWED } })
    expect(simple.status).toBe(200)
    expect(corsHeaders(simple.headers)).toEqual({})
    const preflight = await send(app, '/', PREFLIGHT)
    expect(preflight.status).toBe(405)
    expect(preflight.headers.get('allow')).toBe('GET, HEAD')
    expect(corsHeaders(preflight.headers)).toEqual({})
    expect(preflight.body).toEqual({ type: 'about:blank', title: 'Method Not Allowed', status: 405, detail: 'OPTIONS is not allowed here' })
  })
})
