/**
 * Metrics and traces as `main` starts them: what a serving process adds to its app, and what a
 * primary serves for its workers. Nothing here runs with `METRICS_PORT=0` and no
 * `OTEL_EXPORTER_OTLP_ENDPOINT`; the tracing code is not even loaded without the endpoint.
 */
import { Elysia } from 'elysia'
import { Registry } from 'prom-client'
import type { Config } from '../config'
import { observeQueries } from '../db/observe'
import type { Logger } from '../logger'
import { databaseMetrics } from './database'
import { httpMetrics } from './http'
import { createServiceMetrics, processRegistryFor } from './registry'
import { announce, serveMetrics } from './server'
import { answerMetricsRequests } from './workers'

export type MetricsConfig = Pick<Config, 'metricsPort' | 'metricsHost' | 'databaseUrl' | 'databasePoolPerWorker' | 'otlpEndpoint'>

/** What a serving process adds to its app: a plugin, and the fields its request log lines carry. */
export interface Telemetry {
  plugin: Elysia
  logFields?: (request: Request) => Record<string, string> | undefined
  /** Sends what is left to send (traces) before the process exits. */
  stop(): Promise<void>
}

/**
 * For a process that serves HTTP: alone, it serves `/metrics` itself; as a worker (`worker`
 * set), it answers its primary's requests instead. Undefined when there is nothing to add.
 */
export const startTelemetry = async (config: MetricsConfig, logger: Logger, worker?: number): Promise<Telemetry | undefined> => {
  const plugin = new Elysia({ name: 'telemetry' })
  let logFields: Telemetry['logFields']
  // Undone on stop, so that a process can start the service again (the dev loop's reloads).
  const undo: (() => unknown)[] = []
  const stop = async () => {
    for (const step of undo) await step()
  }
  try {
    if (config.otlpEndpoint !== undefined) {
      const { startTracing } = await import('./tracing')
      const tracing = startTracing(logger)
      undo.push(observeQueries(tracing.queryObserver), tracing.stop)
      plugin.use(tracing.plugin)
      logFields = tracing.logFields
    }
    if (config.metricsPort !== 0) {
      // The embedded database takes one connection, whatever DATABASE_POOL_MAX says.
      const poolMax = config.databaseUrl === undefined ? 1 : config.databasePoolPerWorker
      const metrics = createServiceMetrics({ worker: worker === undefined ? undefined : String(worker), poolMax })
      undo.push(observeQueries(databaseMetrics(metrics, poolMax)))
      plugin.use(httpMetrics({ metrics }))
      if (worker !== undefined) answerMetricsRequests(metrics)
      else {
        const registry = Registry.merge([metrics.registry, metrics.processRegistry])
        const server = serveMetrics({ host: config.metricsHost, port: config.metricsPort, render: () => registry.metrics(), logger })
        undo.push(() => server.stop(true))
        announce(logger, server)
      }
    }
  } catch (error) {
    // Half started (a metrics port taken, say): what did start is undone, as `stop` would.
    await stop()
    throw error
  }
  return config.otlpEndpoint === undefined && config.metricsPort === 0 ? undefined : { plugin, logFields, stop }
}
