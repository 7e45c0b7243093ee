import { afterAll, describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { routeTable } from '../../src/http/elysia-internals'
import { problemResponses } from '../../src/http/errors'
import { Problem } from '../../src/http/problem'
import { WRONG_CURRENT_PASSWORD, problems } from '../../src/http/problems'
import { rateLimit } from '../../src/http/rate-limit'
import { httpMetrics } from '../../src/metrics/http'
import { createServiceMetrics } from '../../src/metrics/registry'
import { captureLog } from '../http/support'
import { labelSets, sampleValue } from '../support/metrics'

// A tiny app of its own on a real server, in the service's order: the plugin before the problem
// responses (whose error handler answers, so later ones never hear of the error), a rate limit, routes.
const metrics = createServiceMetrics({ poolMax: 3 })
let release = () => {}
const app: Elysia = new Elysia()
app
  .use(httpMetrics({ metrics }))
  .use(problemResponses({ logger: captureLog().logger, routes: () => routeTable(app) }))
  .use(rateLimit({ limit: 12, windowSeconds: 60 }))
  .get('/things/:id', ({ params }) => ({ id: params.id }))
  .get('/slow', () => new Promise<string>((resolve) => (release = () => resolve('done'))))
  .post('/things', ({ set }) => {
    set.status = 201
    return { created: true }
  })
  .listen({ port: 0, hostname: '127.0.0.1' })
afterAll(() => app.stop(true))
const base = `http://127.0.0.1:${app.server!.port}`
const text = () => metrics.registry.metrics()
const count = async (labels: Record<string, string>) => sampleValue(await text(), 'http_server_request_duration_seconds_count', labels)
/** `count(labels)` once it is `expected` (responses are timed just after they are sent), or as it is after a second. */
const countReaching = async (labels: Record<string, string>, expected: number) => {
  for (let i = 0; i < 100 && (await count(labels)) !== expected; i++) await Bun.sleep(10)
  return count(labels)
}

describe('httpMetrics({ metrics })', () => {
  test('requests are timed by method, route template and status; unknown paths and methods collapse to one value each; a method the path does not serve keeps its template', async () => {
    expect((await fetch(`${base}/things/1`)).status).toBe(200)
    expect((await fetch(`${base}/things/2`)).status).toBe(200)
    expect((await fetch(`${base}/things`, { method: 'POST' })).status).toBe(201)
    for (let i = 0; i < 5; i++) expect((await fetch(`${base}/scan/${crypto.randomUUID()}`)).status).toBe(404)
    expect((await fetch(`${base}/things/3`, { method: 'PROPFIND' })).status).toBe(405)
    expect(await countReaching({ method: 'GET', route: '/things/:id', status_code: '200' }, 2)).toBe(2)
    expect(await countReaching({ method: 'POST', route: '/things', status_code: '201' }, 1)).toBe(1)
    expect(await countReaching({ method: 'GET', route: 'unmatched', status_code: '404' }, 5)).toBe(5)
    expect(await countReaching({ method: '_OTHER', route: '/things/:id', status_code: '405' }, 1)).toBe(1)
    const series = labelSets(await text(), 'http_server_request_duration_seconds_count')
    expect(series.sort()).toEqual([
      'method="GET",route="/things/:id",status_code="200"',
      'method="GET",route="unmatched",status_code="404"',
      'method="POST",route="/things",status_code="201"',
      'method="_OTHER",route="/things/:id",status_code="405"',
    ])
    expect(await text()).not.toContain('/scan/')
    // Each was at most a few milliseconds on a local socket.
    expect(sampleValue(await text(), 'http_server_request_duration_seconds_sum', { method: 'GET', route: '/things/:id', status_code: '200' })).toBeLessThan(1)
  })

  test('requests in flight are read when scraped', async () => {
    expect(sampleValue(await text(), 'http_server_active_requests')).toBe(0)
    const slow = fetch(`${base}/slow`)
    for (let i = 0; i < 100 && sampleValue(await text(), 'http_server_active_requests') === 0; i++) await Bun.sleep(10)
    expect(sampleValue(await text(), 'http_server_active_requests')).toBe(1)
    release()
    expect(await (await slow).text()).toBe('done')
    for (let i = 0; i < 100 && sampleValue(await text(), 'http_server_active_requests') !== 0; i++) await Bun.sleep(10)
    expect(sampleValue(await text(), 'http_server_active_requests')).toBe(0)
  })

  test('rate-limit refusals are counted, and timed as 429s of their route template (refused before routing, labelled all the same)', async () => {
    expect(sampleValue(await text(), 'http_server_rate_limited_total')).toBe(0)
    // 10 requests so far; the limit is 12 a minute.
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${base}/things/9`)).status)
    expect(statuses).toEqual([200, 200, 429, 429])
    expect(sampleValue(await text(), 'http_server_rate_limited_total')).toBe(2)
    expect(await countReaching({ method: 'GET', route: '/things/:id', status_code: '429' }, 2)).toBe(2)
    expect(await count({ method: 'GET', route: 'unmatched', status_code: '429' })).toBeUndefined()
  })
})

describe('httpMetrics, refused logins', () => {
  test('counted apart: failed (401 for wrong credentials, 422 for a wrong current_password) and throttled (429, not a rate-limit refusal)', async () => {
    const own = createServiceMetrics({ poolMax: 1 })
    const logins: Elysia = new Elysia()
    logins
      .use(httpMetrics({ metrics: own }))
      .use(problemResponses({ logger: captureLog().logger, routes: () => routeTable(logins) }))
      .post('/login/:outcome', ({ params }) => {
        if (params.outcome === 'current') throw problems.invalidRequest([WRONG_CURRENT_PASSWORD])
        if (params.outcome === 'invalid') throw problems.invalidRequest([{ field: 'current_password', message: 'is required to change your own password' }])
        throw params.outcome === 'throttled' ? problems.loginThrottled(600) : problems.unauthorized(params.outcome === 'failed' ? 'credentials' : 'missing')
      })
    const statuses = []
    for (const outcome of ['failed', 'failed', 'current', 'throttled', 'no-token', 'invalid'])
      statuses.push((await logins.handle(new Request(`http://localhost/login/${outcome}`, { method: 'POST' }))).status)
    expect(statuses).toEqual([401, 401, 422, 429, 401, 422])
    const after = await own.registry.metrics()
    expect([sampleValue(after, 'auth_logins_failed_total'), sampleValue(after, 'auth_logins_throttled_total')]).toEqual([3, 1])
    expect(sampleValue(after, 'http_server_rate_limited_total')).toBe(0)
  })
})

describe('httpMetrics, replayed answers', () => {
  test('each answer sent with Idempotent-Replayed: true is counted, a success or a problem', async () => {
    const own = createServiceMetrics({ poolMax: 1 })
    const replays: Elysia = new Elysia()
    replays
      .use(httpMetrics({ metrics: own }))
      .use(problemResponses({ logger: captureLog().logger, routes: () => routeTable(replays) }))
      .post('/created/:replayed', ({ params, set }) => {
        set.status = 201
        if (params.replayed === 'yes') set.headers['idempotent-replayed'] = 'true'
        return { id: 1 }
      })
      .post('/conflict', () => {
        throw new Problem(409, 'A user with this email already exists', undefined, { 'idempotent-replayed': 'true' }, {})
      })
    const statuses = []
    for (const path of ['/created/no', '/created/yes', '/conflict', '/created/yes']) statuses.push((await replays.handle(new Request(`http://localhost${path}`, { method: 'POST' }))).status)
    expect(statuses).toEqual([201, 201, 409, 201])
    // Counted after the response is sent.
    const replayed = async () => sampleValue(await own.registry.metrics(), 'http_server_idempotent_replays_total') ?? 0
    for (let i = 0; i < 100 && (await replayed()) < 3; i++) await Bun.sleep(10)
    await Bun.sleep(50)
    expect(await replayed()).toBe(3)
  })
})

describe('createServiceMetrics', () => {
  test('the pool size is a gauge; the process series are in a registry of their own', async () => {
    expect(sampleValue(await text(), 'db_client_connections_max')).toBe(3)
    const own = await metrics.processRegistry.metrics()
    expect(sampleValue(own, 'process_resident_memory_bytes')).toBeGreaterThan(0)
    expect(own).toContain('# TYPE nodejs_gc_duration_seconds histogram')
    expect(own).toContain('# TYPE nodejs_eventloop_lag_p99_seconds gauge')
    expect(await text()).not.toContain('process_resident_memory_bytes')
    expect(createServiceMetrics({ worker: '2', poolMax: 1 }).processRegistry.metrics()).resolves.toContain('process_resident_memory_bytes{worker="2"}')
  })

  test('garbage collections are counted (Bun reports no GC durations)', async () => {
    const collections = async () => sampleValue(await metrics.processRegistry.metrics(), 'bun_gc_collections_total') ?? 0
    const before = await collections()
    // A full collection frees the sentinel; its finalizer runs on a later turn.
    for (let i = 0; i < 100 && (await collections()) === before; i++) {
      Bun.gc(true)
      await Bun.sleep(10)
    }
    expect(await collections()).toBeGreaterThan(before)
  })
})
