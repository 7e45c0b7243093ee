/**
 * A primary's `/metrics`: its workers' series gathered over IPC and summed, with each process's own.
 * Loaded without the service (no Elysia): the primary starts its workers sooner.
 */
import type { Logger } from '../logger'
import type { WorkerHooks } from '../workers'
import { processRegistryFor } from './registry'
import { announce, serveMetrics } from './server'
import type { MetricsConfig } from './setup'
import { workerMetrics } from './workers'

/** How long a scrape waits for each worker's snapshot. */
const WORKER_TIMEOUT_MS = 2000

/** For the primary: serves `/metrics` for the whole group (not called with `METRICS_PORT=0`). */
export const startGroupMetrics = (config: MetricsConfig, logger: Logger): WorkerHooks => {
  const group = workerMetrics({ own: processRegistryFor('0'), timeoutMs: WORKER_TIMEOUT_MS })
  let workers: readonly { send(message: unknown): void }[] = []
  announce(logger, serveMetrics({ host: config.metricsHost, port: config.metricsPort, render: () => group.render(workers), logger }))
  return {
    onMessage: group.onMessage,
    started(spawned) {
      workers = spawned
    },
  }
}
