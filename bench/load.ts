/** Load from autocannon: a warm-up, then a measured run at a fixed number of connections. */
import autocannon from 'autocannon'
import type { Scenario } from './scenarios'

export interface LoadOptions {
  connections: number
  /** Seconds measured. */
  duration: number
  /** Seconds of load before measuring, not counted (JIT, pools, caches). */
  warmup: number
}

export interface LoadResult {
  rps: number
  p50: number
  p99: number
  requests: number
  /** Connection errors and timeouts. */
  errors: number
  non2xx: number
}

const runAutocannon = (url: string, scenario: Scenario, connections: number, duration: number) =>
  autocannon({
    url,
    connections,
    duration,
    timeout: 10,
    requests: [{ setupRequest: (request) => ({ ...request, ...scenario.next() }) }],
  })

/** The middle value; for an even count, the mean of the two middle ones (never the kinder of them). */
export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** Several measurements of one server as one: throughput over all, the median of p50 and p99. */
export const combine = (results: LoadResult[]): LoadResult => {
  const sum = (pick: (result: LoadResult) => number) => results.reduce((total, result) => total + pick(result), 0)
  const seconds = sum((result) => result.requests / result.rps)
  return {
    rps: sum((result) => result.requests) / seconds,
    p50: median(results.map((result) => result.p50)),
    p99: median(results.map((result) => result.p99)),
    requests: sum((result) => result.requests),
    errors: sum((result) => result.errors),
    non2xx: sum((result) => result.non2xx),
  }
}

/** One scenario against one server; latencies in milliseconds. */
export const measure = async (url: string, scenario: Scenario, options: LoadOptions): Promise<LoadResult> => {
  if (options.warmup > 0) await runAutocannon(url, scenario, options.connections, options.warmup)
  const result = await runAutocannon(url, scenario, options.connections, options.duration)
  return {
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  }
}
