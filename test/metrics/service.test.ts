import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../src/free-port'
import { createServerDatabase, serverPrepare, serverUrl } from '../support/database'
import { labelSets, promtoolCheck, sampleValue } from '../support/metrics'
import { runMain, startService, underTest, waitReady, type Service } from '../support/process'

// The service as deployed (one process here; test/metrics/prometheus.test.ts has two workers),
// on the suite's database, with /metrics on a port of its own.
setDefaultTimeout(60_000)

const dataDir = mkdtempSync(join(tmpdir(), 'users-api-metrics-'))
let service: Service
let dropDatabase = async () => {}
let databaseUrl: string | undefined
const metricsPort = freePort()
const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`

beforeAll(async () => {
  const created = serverUrl ? await createServerDatabase(serverUrl, 'metrics') : undefined
  if (created) dropDatabase = created.drop
  databaseUrl = created?.url
  service = await startService({
    ...(created ? { DATABASE_URL: created.url, DATABASE_PREPARE: String(serverPrepare) } : { DATABASE_URL: undefined, DATA_DIR: dataDir }),
    WORKERS: '1',
    METRICS_PORT: String(metricsPort),
    RATE_LIMIT: '100',
    // What is counted, not who may ask: access control has its own suites.
    AUTH: 'off',
  })
  await waitReady(service.url)
})

afterAll(async () => {
  await service?.stop()
  await dropDatabase()
  rmSync(dataDir, { recursive: true, force: true })
})

const scrape = async () => {
  const response = await fetch(metricsUrl)
  expect(response.status).toBe(200)
  return response.text()
}
/** The scrape once `ready(text)` holds (responses are timed just after they are sent), or after 2 s. */
const scrapeWhen = async (ready: (text: string) => boolean) => {
  for (let i = 0; i < 200; i++) {
    const text = await scrape()
    if (ready(text)) return text
    await Bun.sleep(10)
  }
  return scrape()
}
const requests = (text: string, labels: Record<string, string>) => sampleValue(text, 'http_server_request_duration_seconds_count', labels)
const post = (body: unknown) => fetch(`${service.url}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe(`metrics of ${underTest}`, () => {
  test('GET /metrics on METRICS_PORT: Prometheus text that promtool accepts; the API port has no /metrics', async () => {
    expect(service.lines.map((line) => JSON.parse(line)).find((event) => event.message === 'serving metrics')?.url).toBe(metricsUrl)
    const response = await fetch(metricsUrl)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const checked = await promtoolCheck(await response.text())
    expect(checked).toEqual({ code: 0, output: '' })
    const onApi = await fetch(`${service.url}/metrics`)
    expect(onApi.status).toBe(404)
    expect(await onApi.text()).not.toContain('http_server_request_duration_seconds')
    expect((await fetch(`http://127.0.0.1:${metricsPort}/`)).status).toBe(404)
    const posted = await fetch(metricsUrl, { method: 'POST' })
    expect(posted.status).toBe(405)
    expect(posted.headers.get('allow')).toBe('GET, HEAD')
  })

  test('requests by route template, queries by operation, failures by kind, the pool, the process', async () => {
    const email = `metrics-${crypto.randomUUID()}@example.com`
    const created = await post({ name: 'Metrics', email, age: 40 })
    expect(created.status).toBe(201)
    const { id } = (await created.json()) as { id: number }
    for (let i = 0; i < 3; i++) expect((await fetch(`${service.url}/users/${id}`)).status).toBe(200)
    for (let i = 0; i < 4; i++) expect((await fetch(`${service.url}/wp-admin/${i}.php`)).status).toBe(404)
    expect((await post({ name: 'Again', email, age: 41 })).status).toBe(409)
    const text = await scrapeWhen((text) => requests(text, { method: 'POST', route: '/users', status_code: '409' }) === 1)
    expect(requests(text, { method: 'GET', route: '/users/:id', status_code: '200' })).toBe(3)
    expect(requests(text, { method: 'POST', route: '/users', status_code: '201' })).toBe(1)
    expect(requests(text, { method: 'POST', route: '/users', status_code: '409' })).toBe(1)
    // The four, and the first test's GET /metrics on the API port.
    expect(requests(text, { method: 'GET', route: 'unmatched', status_code: '404' })).toBe(5)
    expect(text).not.toContain('wp-admin')
    expect(text).not.toContain(`/users/${id}`)
    // A create is one statement that also checks the caller: `with ... insert`.
    expect(sampleValue(text, 'db_client_errors_total', { operation: 'with', kind: 'constraint' })).toBe(1)
    expect(labelSets(text, 'db_client_errors_total')).toEqual(['operation="with",kind="constraint"'])
    expect(sampleValue(text, 'db_client_operation_duration_seconds_count', { operation: 'with' })).toBe(2)
    // Three reads, and the readiness probes' `select 1`.
    expect(sampleValue(text, 'db_client_operation_duration_seconds_count', { operation: 'select' })).toBeGreaterThanOrEqual(4)
    expect(sampleValue(text, 'db_client_connections_busy')).toBe(0)
    expect(sampleValue(text, 'db_client_connections_waiting')).toBe(0)
    // DATABASE_POOL_MAX's default on a server; the embedded database takes one connection.
    expect(sampleValue(text, 'db_client_connections_max')).toBe(serverUrl ? 10 : 1)
    expect(sampleValue(text, 'http_server_active_requests')).toBe(0)
    expect(sampleValue(text, 'process_resident_memory_bytes')).toBeGreaterThan(10_000_000)
    expect(sampleValue(text, 'process_cpu_seconds_total')).toBeGreaterThan(0)
    expect(text).toContain('# TYPE nodejs_eventloop_lag_p99_seconds gauge')
    expect(text).toContain('# TYPE nodejs_gc_duration_seconds histogram')
  })

  test('rate-limit refusals', async () => {
    const before = sampleValue(await scrape(), 'http_server_rate_limited_total')
    expect(before).toBe(0)
    let sent = 0
    while ((await fetch(`${service.url}/`)).status === 200 && sent < 200) sent++
    expect(sent).toBeLessThan(100)
    expect((await fetch(`${service.url}/`)).status).toBe(429)
    const text = await scrapeWhen((text) => requests(text, { method: 'GET', route: '/', status_code: '429' }) === 2)
    expect(sampleValue(text, 'http_server_rate_limited_total')).toBe(2)
    expect(requests(text, { method: 'GET', route: '/', status_code: '429' })).toBe(2)
  })

  test('a METRICS_PORT already taken stops start-up with one line naming it, exit 1', async () => {
    const taken = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('someone else') })
    try {
      const result = await runMain([], {
        ...(databaseUrl ? { DATABASE_URL: databaseUrl, DATABASE_PREPARE: String(serverPrepare) } : { DATABASE_URL: undefined, DATA_DIR: join(dataDir, 'taken') }),
        WORKERS: '1',
        PORT: '0',
        HOST: '127.0.0.1',
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: String(taken.port),
      })
      expect(result.code).toBe(1)
      const failed = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line)).find((event) => event.level === 'error')
      expect(failed).toMatchObject({ message: 'start-up failed', error: `METRICS_PORT=${taken.port} on METRICS_HOST=127.0.0.1: Failed to start server. Is port ${taken.port} in use?` })
    } finally {
      taken.stop(true)
    }
  })
})
