import { describe, expect, test } from 'bun:test'
import { requestId } from '../../src/http/request-id'
import { problems } from '../../src/http/problems'
import { appWithProblems, send } from './support'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const build = () =>
  appWithProblems()
    .use(requestId())
    .get('/', () => ({ ok: true }))
    .get('/missing', () => {
      throw problems.userNotFound()
    })

describe('requestId()', () => {
  test('a sane client id (128 letters, digits, dot, dash, underscore) is kept, body untouched', async () => {
    const id = `Ab.9_-${'x'.repeat(122)}`
    const reply = await send(build(), '/', { headers: { 'x-request-id': id } })
    expect(reply.status).toBe(200)
    expect(reply.headers.get('x-request-id')).toBe(id)
    expect(reply.body).toEqual({ ok: true })
  })

  test.each([
    ['129 characters', 'a'.repeat(129)],
    ['a space', 'a b'],
    ['a slash', 'a/b'],
    ['nothing in it', ''],
  ])('an id with %s is replaced by a fresh UUID', async (_, id) => {
    const reply = await send(build(), '/', { headers: { 'x-request-id': id } })
    expect(reply.status).toBe(200)
    expect(reply.headers.get('x-request-id')).toMatch(UUID)
  })

  test('without one, every response gets its own UUID', async () => {
    const app = build()
    const first = (await send(app, '/')).headers.get('x-request-id')
    const second = (await send(app, '/')).headers.get('x-request-id')
    expect(first).toMatch(UUID)
    expect(second).toMatch(UUID)
    expect(first).not.toBe(second)
  })

  test('error responses carry it too: a thrown problem and an unknown path', async () => {
    const app = build()
    const thrown = await send(app, '/missing', { headers: { 'x-request-id': 'err-1' } })
    expect(thrown.status).toBe(404)
    expect(thrown.headers.get('x-request-id')).toBe('err-1')
    expect(thrown.body).toEqual({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'User not found' })
    const unknown = await send(app, '/nowhere', { headers: { 'x-request-id': 'err-2' } })
    expect(unknown.status).toBe(404)
    expect(unknown.headers.get('x-request-id')).toBe('err-2')
  })
})
