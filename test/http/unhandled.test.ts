import { describe, expect, test } from 'bun:test'
import { unhandledFailure } from '../../src/http/unhandled'
import { captureLog } from './support'

describe('unhandledFailure(logger)', () => {
  test("a failure outside the app: the generic 500 with a request id, logged under it; no stack, no path", async () => {
    const { lines, logger } = captureLog()
    const failure = new TypeError('URL is not valid: http://a b/users')
    failure.stack = `TypeError: URL is not valid\n    at wrap (${import.meta.dir}/tracing.ts:82:19)`
    const reply = unhandledFailure(logger)(failure)
    expect(reply.status).toBe(500)
    expect(reply.headers.get('content-type')).toBe('application/problem+json')
    const requestId = reply.headers.get('x-request-id')!
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/)
    expect(await reply.json()).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'Something went wrong on our side; the request id identifies it in our logs',
    })
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'error',
        message: 'unexpected error outside the app',
        request_id: requestId,
        error: { name: 'TypeError', message: 'URL is not valid: http://a b/users', stack: failure.stack },
      }),
    ])
  })
})
