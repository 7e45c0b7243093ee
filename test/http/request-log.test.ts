import { describe, expect, test } from 'bun:test'
import { problems } from '../../src/http/problems'
import { requestId } from '../../src/http/request-id'
import { requestLog } from '../../src/http/request-log'
import { appWithProblems, captureLog, eventually, postJson, send } from './support'

const build = () => {
  const { lines, logger } = captureLog()
  const app = appWithProblems(logger)
    .use(requestLog({ logger }))
    .use(requestId())
    .post('/things/:id', () => ({ saved: true }))
    .get('/things/:id', () => {
      throw problems.userNotFound()
    })
  return { app, lines }
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

describe('requestLog({ logger })', () => {
  test('one line per response: request id, method, route template, status, duration; never the body', async () => {
    const { app, lines } = build()
    const secret = 'hunter2-s3cr3t-token'
    const reply = await send(app, '/things/42', postJson(JSON.stringify({ password: secret }), { 'x-request-id': 'log-1' }))
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({ saved: true })
    await eventually(() => lines.length > 0)
    expect(lines).toEqual([
      {
        level: 'info',
        time: expect.stringMatching(ISO_TIME),
        request_id: 'log-1',
        method: 'POST',
        route: '/things/:id',
        status: 200,
        duration_ms: expect.any(Number),
        message: 'request',
      },
    ])
    expect(lines[0]!.duration_ms).toBeGreaterThanOrEqual(0)
    expect(JSON.stringify(lines)).not.toContain(secret)
  })

  test('a thrown problem is logged with its status and the route template', async () => {
    const { app, lines } = build()
    const reply = await send(app, '/things/7', { headers: { 'x-request-id': 'log-2' } })
    expect(reply.status).toBe(404)
    await eventually(() => lines.length > 0)
    expect(lines).toEqual([
      expect.objectContaining({ message: 'request', request_id: 'log-2', method: 'GET', route: '/things/:id', status: 404 }),
    ])
  })

  test('with no route matched, the route is `unmatched`: the path, which the client wrote, may hold an email', async () => {
    const { app, lines } = build()
    const reply = await send(app, '/nowhere/someone@example.com', { method: 'DELETE' })
    expect(reply.status).toBe(404)
    await eventually(() => lines.length > 0)
    expect(lines).toEqual([
      expect.objectContaining({
        message: 'request',
        request_id: reply.headers.get('x-request-id'),
        method: 'DELETE',
        route: 'unmatched',
        status: 404,
      }),
    ])
    expect(JSON.stringify(lines)).not.toContain('someone@example.com')
  })

  test('each request gets exactly one line of its own', async () => {
    const { app, lines } = build()
    await send(app, '/things/1', { headers: { 'x-request-id': 'a' } })
    await send(app, '/things/2', postJson('{}', { 'x-request-id': 'b' }))
    await eventually(() => lines.length >= 2)
    // Anything written late would land after this pause.
    await Bun.sleep(20)
    expect(lines.map(({ request_id, status }) => [request_id, status])).toEqual([
      ['a', 404],
      ['b', 200],
    ])
  })

  test('fields(request) adds to the line (a trace id); undefined adds nothing', async () => {
    const { lines, logger } = captureLog()
    const app = appWithProblems(logger)
      .use(requestLog({ logger, fields: (request) => (request.headers.has('x-traced') ? { trace_id: 'abc', span_id: 'def' } : undefined) }))
      .use(requestId())
      .get('/things/:id', () => 'ok')
    await send(app, '/things/1', { headers: { 'x-request-id': 'f-1', 'x-traced': '1' } })
    await send(app, '/things/2', { headers: { 'x-request-id': 'f-2' } })
    await eventually(() => lines.length >= 2)
    expect(lines.map(({ request_id, trace_id, span_id }) => [request_id, trace_id, span_id])).toEqual([
      ['f-1', 'abc', 'def'],
      ['f-2', undefined, undefined],
    ])
    expect(Object.keys(lines[1]!).sort()).toEqual(['duration_ms', 'level', 'message', 'method', 'request_id', 'route', 'status', 'time'])
  })
})
