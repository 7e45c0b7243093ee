import { describe, expect, test } from 'bun:test'
import { jsonBody } from '../../src/http/json-body'
import { appWithProblems, postJson, send } from './support'

const build = (limit: number) =>
  appWithProblems()
    .use(jsonBody({ limit }))
    .post('/', ({ body }) => ({ got: body }))
    .patch('/', ({ body }) => ({ got: body }))
    .delete('/', ({ body }) => ({ got: body ?? null }))

const problem = (status: number, title: string, detail: string) => ({ type: 'about:blank', title, status, detail })
const tooLarge = (limit: number) => problem(413, 'Content Too Large', `The request body must not exceed ${limit} bytes`)

/** A body sent in chunks with no Content-Length, as a chunked upload arrives. */
const chunked = (...parts: string[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) controller.enqueue(new TextEncoder().encode(part))
      controller.close()
    },
  })

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)

describe('jsonBody({ limit })', () => {
  test.each(['application/json', 'Application/JSON; charset=utf-8', 'application/merge-patch+json'])('%s is read as JSON', async (type) => {
    const reply = await send(build(100), '/', postJson('{"a":[1,"x"]}', { 'content-type': type }))
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({ got: { a: [1, 'x'] } })
  })

  test.each([
    ['text/plain', { 'content-type': 'text/plain' }],
    ['no Content-Type', {}],
  ])('%s: 415', async (_, headers) => {
    const reply = await send(build(100), '/', { method: 'POST', body: '{"a":1}', headers })
    expect(reply.status).toBe(415)
    expect(reply.headers.get('content-type')).toBe('application/problem+json')
    expect(reply.body).toEqual(problem(415, 'Unsupported Media Type', 'The request body must be JSON, sent with Content-Type: application/json'))
  })

  test('a DELETE body is not read, whatever its type', async () => {
    const reply = await send(build(100), '/', { method: 'DELETE', body: 'not json', headers: { 'content-type': 'text/plain' } })
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({ got: null })
  })

  test('a declared Content-Length over the limit is a 413 naming the limit, without reading the body', async () => {
    for (const limit of [10, 20]) {
      // The body itself is small: only the declared length can have refused it.
      const reply = await send(build(limit), '/', postJson('{}', { 'content-length': String(limit + 1) }))
      expect(reply.status).toBe(413)
      expect(reply.body).toEqual(tooLarge(limit))
    }
  })

  test('a chunked body without Content-Length is cut off at the limit: 413 naming it', async () => {
    for (const limit of [10, 20]) {
      const reply = await send(build(limit), '/', postJson(chunked('{"a":"', 'x'.repeat(limit), '"}')))
      expect(reply.status).toBe(413)
      expect(reply.body).toEqual(tooLarge(limit))
    }
  })

  test('a body of exactly the limit is accepted, one byte more is not', async () => {
    const exact = `{"a":"${'x'.repeat(14)}"}`
    expect(exact.length).toBe(22)
    const app = build(22)
    expect((await send(app, '/', postJson(chunked(exact)))).body).toEqual({ got: { a: 'x'.repeat(14) } })
    expect((await send(app, '/', postJson(exact, { 'content-length': '22' }))).status).toBe(200)
    expect((await send(app, '/', postJson(chunked(exact, ' ')))).body).toEqual(tooLarge(22))
  })

  test.each([
    ['cut off', '{"a":'],
    ['empty', ''],
    ['not UTF-8', new Uint8Array([0x22, 0xff, 0x22])],
  ])('JSON %s: 400', async (_, body) => {
    const reply = await send(build(100), '/', postJson(body))
    expect(reply.status).toBe(400)
    expect(reply.body).toEqual(problem(400, 'Bad Request', 'The request body is not valid JSON'))
  })

  test('32 levels of nesting are read; 33 are a 400', async () => {
    const app = build(1000)
    const deepest = await send(app, '/', postJson(nested(32)))
    expect(deepest.status).toBe(200)
    const tooDeep = await send(app, '/', postJson(nested(33)))
    expect(tooDeep.status).toBe(400)
    expect(tooDeep.body).toEqual(problem(400, 'Bad Request', 'The request body nests arrays and objects more than 32 levels deep'))
  })

  test('PATCH bodies obey the same rules', async () => {
    const reply = await send(build(10), '/', postJson(chunked('{"a":"xxxxxxxx"}'), {}, 'PATCH'))
    expect(reply.body).toEqual(tooLarge(10))
  })
})
