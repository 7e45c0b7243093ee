// The labels a request or a query is counted under, and how /metrics is served.
import { afterAll, describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { withDeadline } from '../../src/db/deadline'
import { observeQueries } from '../../src/db/observe'
import { routeTable } from '../../src/http/elysia-internals'
import { problemResponses } from '../../src/http/errors'
import { databaseMetrics } from '../../src/metrics/database'
import { httpMetrics } from '../../src/metrics/http'
import { createServiceMetrics } from '../../src/metrics/registry'
import { serveMetrics } from '../../src/metrics/server'
import { captureLog } from '../http/support'
import { testDatabase } from '../support/database'
import { labelSets, sampleValue } from '../support/metrics'
import { rawRequest } from '../support/raw-http'

describe('httpMetrics: HEAD', () => {
  const metrics = createServiceMetrics({ poolMax: 1 })
  const app: Elysia = new Elysia()
  app
    .use(httpMetrics({ metrics }))
    .use(problemResponses({ logger: captureLog().logger, routes: () => routeTable(app) }))
    .get('/things/:id', ({ params }) => ({ id: params.id }))
    .listen({ port: 0, hostname: '127.0.0.1' })
  afterAll(() => app.stop(true))

  test('a HEAD request is labelled HEAD, with its route template, not `_OTHER`', async () => {
    const head = await fetch(`http://127.0.0.1:${app.server!.port}/things/1`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
    const labels = { method: 'HEAD', route: '/things/:id', status_code: '200' }
    for (let i = 0; i < 100 && sampleValue(await metrics.registry.metrics(), 'http_server_request_duration_seconds_count', labels) !== 1; i++) await Bun.sleep(10)
    expect(labelSets(await metrics.registry.metrics(), 'http_server_request_duration_seconds_count')).toEqual(['method="HEAD",route="/things/:id",status_code="200"'])
  })
})

describe('databaseMetrics: constraint failures', () => {
  const metrics = createServiceMetrics({ poolMax: 2 })
  const stopObserving = observeQueries(databaseMetrics(metrics, 2))
  afterAll(stopObserving)

  test('every integrity violation (class 23), a check constraint too, is kind="constraint"', async () => {
    const { sql } = await testDatabase()
    const refused = withDeadline(() => sql`insert into users (name, email, age) values ('Too young', ${`check-${crypto.randomUUID()}@example.com`}, 0)`, 2000)
    await expect(refused).rejects.toMatchObject({ code: '23514' })
    expect(labelSets(await metrics.registry.metrics(), 'db_client_errors_total')).toEqual(['operation="insert",kind="constraint"'])
  })
})

describe('serveMetrics', () => {
  test('GET /metrics: the exposition text, never cached', async () => {
    const server = serveMetrics({ host: '127.0.0.1', port: 0, render: async () => 'up 1\n', logger: captureLog().logger })
    try {
      const reply = await fetch(`http://127.0.0.1:${server.port}/metrics`)
      expect(reply.status).toBe(200)
      expect(reply.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
      expect(reply.headers.get('cache-control')).toBe('no-store')
      expect(await reply.text()).toBe('up 1\n')
      const head = await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'HEAD' })
      expect(head.status).toBe(200)
      expect([...head.headers].map(([name]) => name).sort()).toEqual(['cache-control', 'content-length', 'content-type', 'date'])
    } finally {
      await server.stop(true)
    }
  })

  // A URL that does not parse (no Host, or a broken one) threw, and Bun answered with its
  // development error page: a 500 of 50 KB naming the source files.
  test('a request without a Host, or with a broken one, is answered like any other', async () => {
    const server = serveMetrics({ host: '127.0.0.1', port: 0, render: async () => 'up 1\n', logger: captureLog().logger })
    try {
      const scrape = await rawRequest(server.port!, 'GET /metrics HTTP/1.0\r\n\r\n')
      expect(scrape).toStartWith('HTTP/1.1 200 ')
      expect(scrape).toEndWith('\r\n\r\nup 1\n')
      const other = await rawRequest(server.port!, 'GET /x HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n')
      expect(other).toStartWith('HTTP/1.1 404 ')
      expect(other).toEndWith('\r\n\r\nnot found: try /metrics\n')
    } finally {
      await server.stop(true)
    }
  })

  test('a scrape that fails: 500 with a plain line, logged, never a stack or a path', async () => {
    const { lines, logger } = captureLog()
    const server = serveMetrics({ host: '127.0.0.1', port: 0, render: async () => Promise.reject(new Error('a worker went away')), logger })
    try {
      const reply = await fetch(`http://127.0.0.1:${server.port}/metrics`)
      expect(reply.status).toBe(500)
      expect(reply.headers.get('cache-control')).toBe('no-store')
      expect(await reply.text()).toBe('metrics unavailable\n')
      expect(lines).toEqual([expect.objectContaining({ level: 'error', message: 'metrics scrape failed', error: 'a worker went away' })])
    } finally {
      await server.stop(true)
    }
  })

  test('a port in use: the error names METRICS_PORT', async () => {
    const taken = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('') })
    try {
      expect(() => serveMetrics({ host: '127.0.0.1', port: taken.port!, render: async () => '', logger: captureLog().logger })).toThrow(
        new Error(`METRICS_PORT=${taken.port} on METRICS_HOST=127.0.0.1: Failed to start server. Is port ${taken.port} in use?`),
      )
    } finally {
      await taken.stop(true)
    }
  })
})
