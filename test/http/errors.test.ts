import { afterAll, describe, expect, test } from 'bun:test'
import { t } from 'elysia'
import postgres from 'postgres'
import { freePort } from '../../src/free-port'
import { requestId } from '../../src/http/request-id'
import { decimalInteger } from '../../src/schema/strict-types'
import { userFields } from '../../src/users/fields'
import { appWithProblems, captureLog, postJson, send } from './support'

// A real client of a port nobody listens on: its queries fail as with a database that is down.
const unreachable = postgres(`postgres://postgres@127.0.0.1:${freePort()}/none`, { max: 1, connect_timeout: 2, onnotice: () => {} })
afterAll(() => unreachable.end({ timeout: 0 }))

const build = (fields?: (request: Request) => Record<string, string> | undefined) => {
  const { lines, logger } = captureLog()
  const app = appWithProblems(logger, fields)
    .use(requestId())
    .get('/things', () => [])
    .post('/things', ({ body }) => body, {
      query: t.Object({ limit: t.Optional(decimalInteger({ minimum: 1, maximum: 100 })) }),
      body: t.Object({ name: userFields.name(), email: userFields.email(), age: userFields.age() }, { additionalProperties: false }),
    })
    .delete('/things/:id', () => null)
    .get('/boom', () => {
      throw new Error('password=hunter2 leaked in a message')
    })
    .get('/database', async () => await unreachable`select 1`)
  return { app, lines }
}

const problem = (status: number, title: string, detail: string, more: object = {}) => ({ type: 'about:blank', title, status, detail, ...more })

describe('problemResponses({ logger, routes })', () => {
  test('an unknown path: 404', async () => {
    const reply = await send(build().app, '/nowhere')
    expect(reply.status).toBe(404)
    expect(reply.headers.get('content-type')).toBe('application/problem+json')
    expect(reply.headers.get('allow')).toBeNull()
    expect(reply.body).toEqual(problem(404, 'Not Found', 'No such resource'))
  })

  test.each([
    ['PUT', '/things', 'GET, HEAD, POST'],
    ['PATCH', '/things/7', 'DELETE'],
  ])('%s %s, a path served with other methods: 405 with Allow: %s', async (method, path, allow) => {
    const reply = await send(build().app, path, { method })
    expect(reply.status).toBe(405)
    expect(reply.headers.get('allow')).toBe(allow)
    expect(reply.body).toEqual(problem(405, 'Method Not Allowed', `${method} is not allowed here`))
  })

  test('an unexpected error: a generic 500 that names no cause, and one error line with the request id', async () => {
    const { app, lines } = build()
    const reply = await send(app, '/boom', { headers: { 'x-request-id': 'boom-1' } })
    expect(reply.status).toBe(500)
    expect(reply.headers.get('x-request-id')).toBe('boom-1')
    expect(reply.body).toEqual(problem(500, 'Internal Server Error', 'Something went wrong on our side; the request id identifies it in our logs'))
    expect(reply.text).not.toContain('hunter2')
    expect(lines).toEqual([
      {
        level: 'error',
        time: expect.any(String),
        request_id: 'boom-1',
        error: { name: 'Error', message: 'password=hunter2 leaked in a message', stack: expect.stringContaining('errors.test.ts') },
        message: 'unexpected error',
      },
    ])
  })

  test('a database that cannot be reached: 503 with Retry-After, logged as a warning', async () => {
    const { app, lines } = build()
    const reply = await send(app, '/database', { headers: { 'x-request-id': 'db-1' } })
    expect(reply.status).toBe(503)
    expect(reply.headers.get('retry-after')).toBe('5')
    expect(reply.body).toEqual(problem(503, 'Service Unavailable', 'The database is unavailable; try again shortly'))
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', message: 'database unavailable', request_id: 'db-1' })])
  })

  test("with tracing, both lines carry the request's trace ids, as its request line does", async () => {
    const { app, lines } = build((request) => ({ trace_id: `trace-of-${request.headers.get('x-request-id')}`, span_id: 'span-1' }))
    expect((await send(app, '/boom', { headers: { 'x-request-id': 'boom-2' } })).status).toBe(500)
    expect((await send(app, '/database', { headers: { 'x-request-id': 'db-2' } })).status).toBe(503)
    expect(lines.map(({ level, message, request_id, trace_id, span_id }) => ({ level, message, request_id, trace_id, span_id }))).toEqual([
      { level: 'error', message: 'unexpected error', request_id: 'boom-2', trace_id: 'trace-of-boom-2', span_id: 'span-1' },
      { level: 'warn', message: 'database unavailable', request_id: 'db-2', trace_id: 'trace-of-db-2', span_id: 'span-1' },
    ])
  })

  test('a request that breaks rules in the query and the body: 422 listing every violation', async () => {
    const reply = await send(build().app, '/things?limit=abc', postJson(JSON.stringify({ name: ' ', email: 'x', age: '7', role: 'admin' })))
    expect(reply.status).toBe(422)
    expect(reply.body).toEqual(
      problem(422, 'Unprocessable Content', 'The request does not fit the schema', {
        errors: [
          { field: 'limit', message: 'must be an integer from 1 to 100, written in decimal digits' },
          { field: 'role', message: 'is not allowed' },
          { field: 'name', message: 'must be a string of 1 to 100 characters after trimming, without control characters' },
          { field: 'email', message: 'must be a valid email address (local@domain.tld) of at most 254 characters' },
          { field: 'age', message: 'must be a JSON integer' },
        ],
      }),
    )
  })

  test('a request that breaks only a business rule: 400 naming it', async () => {
    const reply = await send(build().app, '/things?limit=5', postJson(JSON.stringify({ name: 'Ada', email: 'ada@example.com', age: 121 })))
    expect(reply.status).toBe(400)
    expect(reply.body).toEqual(
      problem(400, 'Bad Request', 'age must be between 1 and 120', { errors: [{ field: 'age', message: 'must be between 1 and 120' }] }),
    )
  })

  test('a valid request is not its business', async () => {
    const reply = await send(build().app, '/things?limit=5', postJson(JSON.stringify({ name: ' Ada ', email: 'ada@example.com', age: 36 })))
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({ name: 'Ada', email: 'ada@example.com', age: 36 })
  })
})
