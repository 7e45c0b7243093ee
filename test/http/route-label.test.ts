import { describe, expect, test } from 'bun:test'
import { templateOf } from '../../src/http/allowed-methods'
import { routeTable } from '../../src/http/elysia-internals'
import { testDatabase } from '../support/database'
import { AUTH_ON, buildApp, call, createAccount, logLines, suiteAdminToken } from '../support/http'
import { eventually } from './support'

const ROUTES = [
  { method: 'GET', path: '/' },
  { method: 'GET', path: '/users' },
  { method: 'POST', path: '/users' },
  { method: 'GET', path: '/users/me' },
  { method: 'GET', path: '/users/:id' },
  { method: 'DELETE', path: '/users/:id' },
  { method: 'OPTIONS', path: '/*' },
]

describe('templateOf(routes, method, path)', () => {
  test.each([
    ['GET', '/users/5', '/users/:id'],
    ['HEAD', '/users/5/', '/users/:id'],
    ['GET', '/users/me', '/users/me'],
    // The router looks among the method's routes first: a DELETE of `me` reaches `/users/:id`.
    ['DELETE', '/users/me', '/users/:id'],
    ['PUT', '/users', '/users'],
    ['GET', '/', '/'],
    ['GET', '/users/5/x', undefined],
    ['OPTIONS', '/nowhere', undefined],
  ])('%s %s', (method, path, template) => {
    expect(templateOf(ROUTES, method, path)).toBe(template)
  })
})

// The request log and the metrics share the label (see src/http/route-label.ts).
describe('a request answered before routing is labelled with its route template', () => {
  const routeLogged = async (id: string) => {
    await eventually(() => logLines.some((line) => line.request_id === id && line.message === 'request'))
    return logLines.find((line) => line.request_id === id && line.message === 'request')!.route
  }

  test.skipIf(!AUTH_ON)('the access guard’s 401 and 403', async () => {
    expect((await call('GET', '/users/5', { token: null, headers: { 'x-request-id': 'label-401' } })).status).toBe(401)
    expect(await routeLogged('label-401')).toBe('/users/:id')
    expect((await call('GET', '/users/me', { token: 'not.a.token', headers: { 'x-request-id': 'label-me' } })).status).toBe(401)
    expect(await routeLogged('label-me')).toBe('/users/me')
    const [user, other] = [await createAccount(), await createAccount()]
    expect((await call('GET', `/users/${other.id}`, { token: user.token, headers: { 'x-request-id': 'label-403' } })).status).toBe(403)
    expect(await routeLogged('label-403')).toBe('/users/:id')
  })

  // Straight through app.handle: the check against the document would ask the app for it too.
  const send = (app: ReturnType<typeof buildApp>, method: string, path: string, headers: Record<string, string>) =>
    app.handle(new Request(`http://localhost${path}`, { method, headers }))

  test('the rate limit’s 429; a path no route serves stays `unmatched`', async () => {
    const app = buildApp((await testDatabase()).sql, { rateLimit: 1, rateLimitWindow: 86_400 })
    expect((await send(app, 'GET', '/', { 'x-request-id': 'label-first' })).status).toBe(200)
    expect((await send(app, 'GET', '/users/5', { 'x-request-id': 'label-429' })).status).toBe(429)
    expect(await routeLogged('label-429')).toBe('/users/:id')
    expect((await send(app, 'GET', '/no/such/path', { 'x-request-id': 'label-404' })).status).toBe(429)
    expect(await routeLogged('label-404')).toBe('unmatched')
  })

  test('a 404 before routing stays `unmatched`: `/users/me` without access control', async () => {
    const app = buildApp((await testDatabase()).sql, { auth: false })
    expect((await send(app, 'GET', '/users/me', { 'x-request-id': 'label-me-off' })).status).toBe(404)
    expect(await routeLogged('label-me-off')).toBe('unmatched')
  })

  // The same paths as the router sees them: the template it chose for a routed request (logged as
  // Elysia names it) is the one templateOf finds in the app's own table.
  test('templateOf agrees with the router on the app’s routes', async () => {
    const app = buildApp((await testDatabase()).sql)
    const token = await suiteAdminToken()
    const headers = (id: string): Record<string, string> => ({ 'x-request-id': id, ...(token ? { authorization: `Bearer ${token}` } : {}) })
    const asked = [['GET', '/'], ['GET', '/users'], ['GET', '/users/1'], ['HEAD', '/users/1/'], ['GET', '/readyz'], ['GET', '/openapi.json'], ['GET', '/docs/'], ...(AUTH_ON ? [['GET', '/users/me'], ['DELETE', '/users/0']] : [])]
    for (const [index, [method, path]] of asked.entries()) {
      await app.handle(new Request(`http://localhost${path}`, { method, headers: headers(`label-router-${index}`) }))
      expect([method, path, await routeLogged(`label-router-${index}`)]).toEqual([method, path, templateOf(routeTable(app), method!, path!)])
    }
  })

  test('a CORS preflight: its path’s template, not the catch-all', async () => {
    const app = buildApp((await testDatabase()).sql, { corsOrigins: ['https://app.example.com'] })
    const preflight = { origin: 'https://app.example.com', 'access-control-request-method': 'PATCH' }
    expect((await send(app, 'OPTIONS', '/users/5', { ...preflight, 'x-request-id': 'label-preflight' })).status).toBe(204)
    expect(await routeLogged('label-preflight')).toBe('/users/:id')
    expect((await send(app, 'OPTIONS', '/nope', { ...preflight, 'x-request-id': 'label-preflight-404' })).status).toBe(404)
    expect(await routeLogged('label-preflight-404')).toBe('unmatched')
  })
})
