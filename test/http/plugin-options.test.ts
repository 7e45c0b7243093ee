import { afterEach, describe, expect, setSystemTime, test } from 'bun:test'
import { corsPolicy } from '../../src/http/cors'
import { jsonBody } from '../../src/http/json-body'
import { rateLimit } from '../../src/http/rate-limit'
import { requestLog } from '../../src/http/request-log'
import { appWithProblems, captureLog, eventually, postJson, send } from './support'

// Elysia drops a second plugin of the same name and seed from an app. These check that an
// option which matters is in the seed (or the plugin is built per app), so no app loses its own.

const withBody = (limit: number) => appWithProblems().use(jsonBody({ limit })).post('/', ({ body }) => body)
const limited = (...options: { limit: number; windowSeconds: number }[]) =>
  options.reduce((app, option) => app.use(rateLimit(option)), appWithProblems()).get('/', () => 'ok')

const tooLarge = (limit: number) => ({ type: 'about:blank', title: 'Content Too Large', status: 413, detail: `The request body must not exceed ${limit} bytes` })

afterEach(() => setSystemTime())

describe('plugins keep their own options', () => {
  test('two apps side by side with different jsonBody limits', async () => {
    const small = withBody(10)
    const large = withBody(100)
    const body = JSON.stringify({ a: 'x'.repeat(40) })
    expect((await send(small, '/', postJson(body))).body).toEqual(tooLarge(10))
    expect((await send(large, '/', postJson(body))).body).toEqual({ a: 'x'.repeat(40) })
    expect((await send(large, '/', postJson(JSON.stringify({ a: 'x'.repeat(100) })))).body).toEqual(tooLarge(100))
  })

  test('two apps side by side with the same rateLimit count their clients apart', async () => {
    const first = limited({ limit: 1, windowSeconds: 60 })
    const second = limited({ limit: 1, windowSeconds: 60 })
    expect((await send(first, '/')).status).toBe(200)
    expect((await send(first, '/')).status).toBe(429)
    expect((await send(second, '/')).status).toBe(200)
  })

  test('one app with two different rateLimits keeps both: the stricter refuses', async () => {
    // Windows are aligned to the clock: at a whole minute, a 30 s window has 30 s left.
    setSystemTime(new Date('2026-01-01T00:00:00.000Z'))
    const app = limited({ limit: 3, windowSeconds: 60 }, { limit: 2, windowSeconds: 30 })
    expect((await send(app, '/')).status).toBe(200)
    expect((await send(app, '/')).status).toBe(200)
    const refused = await send(app, '/')
    expect(refused.status).toBe(429)
    // Only the second limiter has a 30 s window.
    expect(refused.headers.get('retry-after')).toBe('30')
  })

  test('requestLog used twice in one app writes one line per request', async () => {
    const { lines, logger } = captureLog()
    const app = appWithProblems().use(requestLog({ logger })).use(requestLog({ logger })).get('/', () => 'ok')
    await send(app, '/')
    await eventually(() => lines.length > 0)
    // A duplicate line would be written right after the first.
    await Bun.sleep(20)
    expect(lines).toHaveLength(1)
  })

  test('two apps side by side log to their own loggers', async () => {
    const one = captureLog()
    const two = captureLog()
    const first = appWithProblems().use(requestLog({ logger: one.logger })).get('/one', () => 'ok')
    const second = appWithProblems().use(requestLog({ logger: two.logger })).get('/two', () => 'ok')
    await send(first, '/one')
    await send(second, '/two')
    await eventually(() => one.lines.length > 0 && two.lines.length > 0)
    await Bun.sleep(20)
    expect(one.lines.map(({ route }) => route)).toEqual(['/one'])
    expect(two.lines.map(({ route }) => route)).toEqual(['/two'])
  })

  test('two apps side by side with different CORS origins allow only their own', async () => {
    const apps = ['https://a.example', 'https://b.example'].map((origin) =>
      appWithProblems().use(corsPolicy({ origins: [origin] })).get('/', () => 'ok'),
    )
    const allowed = async (index: number, origin: string) =>
      (await send(apps[index]!, '/', { headers: { origin } })).headers.get('access-control-allow-origin')
    expect(await allowed(0, 'https://a.example')).toBe('https://a.example')
    expect(await allowed(0, 'https://b.example')).toBeNull()
    expect(await allowed(1, 'https://b.example')).toBe('https://b.example')
    expect(await allowed(1, 'https://a.example')).toBeNull()
  })
})
