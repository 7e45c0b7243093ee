import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { testDatabase } from '../support/database'
import { AUTH_ON, buildApp, createUser, suiteAdminToken } from '../support/http'

// HEAD is answered by Bun's router for every GET route, so it is tested over real HTTP.
let server: ReturnType<ReturnType<typeof buildApp>['listen']>
let base = ''
let token: string | undefined

beforeAll(async () => {
  server = buildApp((await testDatabase()).sql).listen({ port: 0, hostname: '127.0.0.1' })
  base = `http://127.0.0.1:${server.server!.port}`
  token = await suiteAdminToken()
})
afterAll(() => server.stop(true))

// Headers that differ between any two responses (each checked on its own).
const VARYING = new Set(['x-request-id', 'date'])
// An IMF-fixdate (RFC 9110 §5.6.7), which Bun leaves out of its HEAD answers unless given one.
const HTTP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/
const send = (method: string, path: string, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, { method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } })
const headersOf = (response: Response) => [...response.headers].filter(([name]) => !VARYING.has(name))

describe('HEAD wherever GET', () => {
  const paths = async () => {
    const user = await createUser()
    return ['/', '/readyz', '/users?limit=2', `/users/${user.id}`, '/users/9007199254740991', ...(AUTH_ON ? ['/users/me'] : []), '/docs', '/openapi.json', '/docs/scalar.js']
  }

  test('the same status and headers as GET, and no body', async () => {
    for (const path of await paths()) {
      const get = await send('GET', path)
      const head = await send('HEAD', path)
      const body = await get.arrayBuffer()
      expect({ path, status: head.status }).toEqual({ path, status: get.status })
      expect({ path, headers: headersOf(head) }).toEqual({ path, headers: headersOf(get) })
      expect(head.headers.get('x-request-id')).toBeString()
      expect({ path, date: head.headers.get('date') }).toEqual({ path, date: expect.stringMatching(HTTP_DATE) })
      expect(get.headers.get('date')).toMatch(HTTP_DATE)
      expect(await head.text()).toBe('')
      expect(body.byteLength).toBeGreaterThan(0)
    }
  })

  test('HEAD with a current If-None-Match is 304 too', async () => {
    const user = await createUser()
    const head = await send('HEAD', `/users/${user.id}`, { 'if-none-match': `"${user.id}-1"` })
    expect(head.status).toBe(304)
    expect(head.headers.get('etag')).toBe(`"${user.id}-1"`)
    expect(head.headers.get('date')).toMatch(HTTP_DATE)
  })

  test('a path without GET answers HEAD with 405 and its Allow', async () => {
    const head = await send('HEAD', '/auth/token')
    expect(head.status).toBe(AUTH_ON ? 405 : 404)
    expect(head.headers.get('date')).toMatch(HTTP_DATE)
    if (AUTH_ON) expect(head.headers.get('allow')).toBe('POST')
  })
})
