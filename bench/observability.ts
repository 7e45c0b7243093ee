/**
 * What metrics and tracing cost: the same read (`GET /users/{random id}`) against the service
 * with metrics on (as shipped), with `METRICS_PORT=0` twice (two identical servers: their gap is
 * the noise of this machine, against which the cost is read), and with tracing on as well (to a
 * sink in this process that accepts and drops every export). The rounds rotate the order of the
 * servers, so drift and neighbours hit all alike; each figure is the median of the rounds.
 */
import { measure, median, type LoadOptions } from './load'
import type { Server } from './processes'
import type { Table } from './report'
import type { Scenario } from './scenarios'

type Variant = 'metrics on' | 'metrics off' | 'metrics off, again' | 'metrics and tracing on'

export interface ObservabilityOptions {
  /** Starts the service with these variables added to its environment. */
  start: (variables: Record<string, string>) => Promise<Server>
  freePort: () => number
  scenario: Scenario
  load: LoadOptions
  rounds: number
  log: (line: string) => void
}

const percent = (value: number) => `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)}%`

export const observabilityCost = async ({ start, freePort, scenario, load, rounds, log }: ObservabilityOptions) => {
  const sink = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => Response.json({}) })
  const variants: Record<Variant, Record<string, string>> = {
    'metrics on': { METRICS_PORT: String(freePort()) },
    'metrics off': { METRICS_PORT: '0' },
    'metrics off, again': { METRICS_PORT: '0' },
    'metrics and tracing on': {
      METRICS_PORT: String(freePort()),
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sink.port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    },
  }
  const names = Object.keys(variants) as Variant[]
  const servers: Partial<Record<Variant, Server>> = {}
  const rps: Record<Variant, number[]> = { 'metrics on': [], 'metrics off': [], 'metrics off, again': [], 'metrics and tracing on': [] }
  try {
    for (const name of names) servers[name] = await start(variants[name])
    for (const name of names) await measure(servers[name]!.url, scenario, { ...load, duration: load.warmup, warmup: 0 })
    for (let round = 0; round < rounds; round++) {
      log(`  observability: round ${round + 1} of ${rounds}`)
      const order = names.map((_, i) => names[(i + round) % names.length]!)
      for (const name of order) rps[name].push((await measure(servers[name]!.url, scenario, { ...load, warmup: 0 })).rps)
    }
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.stop()))
    sink.stop(true)
  }
  const medians = Object.fromEntries(names.map((name) => [name, median(rps[name])])) as Record<Variant, number>
  const off = medians['metrics off']
  const table: Table = {
    title: `Cost of metrics and tracing: ${scenario.name}, 1 worker, PostgreSQL, ${load.connections} connections, median of ${rounds} rotated rounds of ${load.duration} s`,
    header: ['server', 'median req/s', 'against metrics off', 'rounds (req/s)'],
    rows: names.map((name) => [name, Math.round(medians[name]), percent(medians[name] / off - 1), rps[name].map(Math.round).join(', ')]),
    notes: [
      `Spread between the two identical servers with metrics off: ${percent(medians['metrics off, again'] / off - 1)}. ` +
        `Metrics on reach ${(medians['metrics on'] / off).toFixed(3)}× of metrics off (the goal: ≥ 0.95×).`,
    ],
  }
  return { table, data: { rps, medians } }
}
