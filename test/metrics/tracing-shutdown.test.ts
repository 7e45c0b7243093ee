/** Traces at shutdown: a collector that never answers must not hold the process. */
import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startService, underTest, waitReady } from '../support/process'

setDefaultTimeout(60_000)

describe(`traces of ${underTest}, the collector stalled`, () => {
  test('a shutdown waits at most 3 s for the last spans, says so, and exits 0', async () => {
    // A collector that takes the connection and never answers: the exporter would wait 10 s.
    const silent = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    const stalledDir = mkdtempSync(join(tmpdir(), 'users-api-tracing-stalled-'))
    try {
      const stalled = await startService({
        DATABASE_URL: undefined,
        DATA_DIR: stalledDir,
        WORKERS: '1',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${silent.port}`,
        OTEL_BSP_SCHEDULE_DELAY: '3600000',
        AUTH: 'off',
      })
      await waitReady(stalled.url)
      expect((await fetch(new URL('/users', stalled.url))).status).toBe(200)
      const started = performance.now()
      expect(await stalled.stop('SIGTERM')).toBe(0)
      // 3 s for the spans after the database closed: not the exporter's 10.
      expect(performance.now() - started).toBeLessThan(8_000)
      const warnings = stalled.lines.map((line) => JSON.parse(line)).filter((event) => event.message === 'traces not exported')
      expect(warnings.map((event) => [event.level, event.error])).toEqual([['warn', 'the collector did not answer within 3 s']])
    } finally {
      silent.stop(true)
      rmSync(stalledDir, { recursive: true, force: true })
    }
  })
})
