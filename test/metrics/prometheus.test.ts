import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../src/free-port'
import { createServerDatabase, serverPrepare, serverUrl } from '../support/database'
import { startService, underTest, waitReady } from '../support/process'
import { sampleValue } from '../support/metrics'

// A real Prometheus (Debian's package) scrapes the service running two workers: what it stores
// must be the whole group's, not whichever worker a scrape happened to reach.
setDefaultTimeout(90_000)

const workDir = mkdtempSync(join(tmpdir(), 'users-api-prometheus-'))
afterAll(() => rmSync(workDir, { recursive: true, force: true }))

/** Prometheus on a free port, scraping `target` every 200 ms. */
const startPrometheus = async (target: string) => {
  const config = join(workDir, 'prometheus.yml')
  writeFileSync(config, `global:\n  scrape_interval: 200ms\n  scrape_timeout: 200ms\nscrape_configs:\n  - job_name: users-api\n    static_configs:\n      - targets: ['${target}']\n`)
  const port = freePort()
  const child = Bun.spawn(
    ['prometheus', `--config.file=${config}`, `--storage.tsdb.path=${join(workDir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdout: 'ignore', stderr: 'pipe' },
  )
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 300; i++) {
    if ((await fetch(`${url}/-/ready`).then((response) => response.status, () => 0)) === 200) break
    await Bun.sleep(100)
  }
  return { url, child }
}

/** The value of the one series a PromQL query returns, or undefined when it returns none. */
const queryValue = async (prometheus: string, promql: string): Promise<number | undefined> => {
  const response = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(promql)}`)
  expect(response.status).toBe(200)
  const { data } = (await response.json()) as { data: { result: { value: [number, string] }[] } }
  return data.result.length === 1 ? Number(data.result[0]!.value[1]) : undefined
}

/** `promql`'s value once it is `expected`, or as it is after 20 s. */
const queryReaching = async (prometheus: string, promql: string, expected: number) => {
  for (let i = 0; i < 100 && (await queryValue(prometheus, promql)) !== expected; i++) await Bun.sleep(200)
  return queryValue(prometheus, promql)
}

describe(`Prometheus scraping ${underTest}`, () => {
  test.skipIf(!serverUrl)('WORKERS=2: the request count per route is what was sent to the group; process series per worker', async () => {
    const created = await createServerDatabase(serverUrl!, 'prometheus')
    const metricsPort = freePort()
    const service = await startService({
      DATABASE_URL: created.url,
      DATABASE_PREPARE: String(serverPrepare),
      WORKERS: '2',
      METRICS_PORT: String(metricsPort),
      // What is counted, not who may ask: access control has its own suites.
      AUTH: 'off',
    })
    const prometheus = await startPrometheus(`127.0.0.1:${metricsPort}`)
    try {
      await waitReady(service.url)
      // Ready means one worker is: the other may still be migrating (and answer 503 until then).
      const migrated = () => service.lines.filter((line) => JSON.parse(line).message === 'migrations applied').length
      for (let i = 0; i < 200 && migrated() < 2; i++) await Bun.sleep(50)
      expect(migrated()).toBe(2)
      const reply = await fetch(`${service.url}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Scraped', email: 'scraped@example.com', age: 50 }),
      })
      expect(reply.status).toBe(201)
      const { id } = (await reply.json()) as { id: number }
      // A new connection each: the kernel spreads them across both workers.
      const sent = 40
      const statuses = await Promise.all(
        Array.from({ length: sent }, () => fetch(`${service.url}/users/${id}`, { headers: { connection: 'close' } }).then((response) => response.status)),
      )
      expect(statuses).toEqual(Array(sent).fill(200))
      const perRoute = 'sum(http_server_request_duration_seconds_count{route="/users/:id",method="GET",status_code="200"})'
      expect(await queryReaching(prometheus.url, perRoute, sent)).toBe(sent)
      expect(await queryValue(prometheus.url, 'sum(http_server_request_duration_seconds_count{route="/users",method="POST",status_code="201"})')).toBe(1)
      // Each worker's own process series, and the primary's.
      expect(await queryValue(prometheus.url, 'count(process_resident_memory_bytes)')).toBe(3)
      expect(await queryValue(prometheus.url, 'count(process_resident_memory_bytes{worker=~"1|2"})')).toBe(2)
      expect(await queryValue(prometheus.url, 'max(metrics_workers_missing)')).toBe(0)
      expect(await queryValue(prometheus.url, 'sum(db_client_connections_max)')).toBe(10)
      expect(await queryValue(prometheus.url, 'up')).toBe(1)

      // A stuck worker cannot hang a scrape: after its timeout it is counted, its last answer stands
      // in for its share of the sums (which never go down), and its process series are left out.
      const served = { route: '/users/:id', method: 'GET', status_code: '200' }
      const before = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
      expect(sampleValue(before, 'http_server_request_duration_seconds_count', served)).toBe(sent)
      const primary = service.process.pid
      const workers = readFileSync(`/proc/${primary}/task/${primary}/children`, 'utf8').trim().split(/\s+/).map(Number)
      expect(workers).toHaveLength(2)
      process.kill(workers[0]!, 'SIGSTOP')
      try {
        const began = performance.now()
        const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
        expect(scrape.status).toBe(200)
        const text = await scrape.text()
        expect(performance.now() - began).toBeLessThan(4000)
        expect(sampleValue(text, 'metrics_workers_missing')).toBe(1)
        expect(sampleValue(text, 'http_server_request_duration_seconds_count', served)).toBe(sent)
        expect(text.match(/^process_resident_memory_bytes\{/gm)).toHaveLength(2)
      } finally {
        process.kill(workers[0]!, 'SIGCONT')
      }
    } finally {
      prometheus.child.kill()
      await prometheus.child.exited
      expect(await service.stop('SIGTERM')).toBe(0)
      await created.drop()
    }
  })
})
