import { describe, expect, test } from 'bun:test'
import { securityHeaders } from '../../src/http/security-headers'
import { appWithProblems, send } from './support'

// Written out rather than imported: a change to either policy must show up here.
const API_POLICY = "default-src 'none'; frame-ancestors 'none'"
const DOCS_POLICY =
  "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"

const build = () =>
  appWithProblems()
    .use(securityHeaders())
    .get('/', () => ({ ok: true }))
    .get('/docs', () => 'page')
    .get('/docs/scalar.js', () => 'script')
    .get('/docsx', () => 'other')

describe('securityHeaders()', () => {
  test.each(['/docs', '/docs/', '/docs?theme=dark'])('%s, the docs page, gets the policy Scalar needs', async (path) => {
    const reply = await send(build(), path)
    expect(reply.status).toBe(200)
    expect(reply.text).toBe('page')
    expect(reply.headers.get('content-security-policy')).toBe(DOCS_POLICY)
    expect(reply.headers.get('x-content-type-options')).toBe('nosniff')
  })

  test.each(['/', '/docs/scalar.js', '/docsx'])('%s, not the docs page, gets the API policy', async (path) => {
    const reply = await send(build(), path)
    expect(reply.status).toBe(200)
    expect(reply.headers.get('content-security-policy')).toBe(API_POLICY)
    expect(reply.headers.get('x-content-type-options')).toBe('nosniff')
  })

  test('problem responses carry them too', async () => {
    const reply = await send(build(), '/nowhere')
    expect(reply.status).toBe(404)
    expect(reply.body).toEqual({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'No such resource' })
    expect(reply.headers.get('content-security-policy')).toBe(API_POLICY)
    expect(reply.headers.get('x-content-type-options')).toBe('nosniff')
  })
})
