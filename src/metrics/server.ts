import { Registry } from 'prom-client'
import { pathOf } from '../http/request-path'
import type { Logger } from '../logger'
import { errorMessage } from '../error-message'

export interface MetricsServerOptions {
  host: string
  port: number
  /** The exposition text of one scrape. */
  render: () => Promise<string>
  /** Where a failed scrape is logged. */
  logger: Logger
}

/**
 * `GET /metrics` (and HEAD) on a port of its own, never the API's: Prometheus's text format.
 * Anything else is 404, or 405 for another method on /metrics.
 */
export const serveMetrics = (options: MetricsServerOptions) => {
  const { host, port } = options
  try {
    return metricsServer(options)
  } catch (error) {
    // Bun's line ("Is port 9464 in use?") does not say which of the service's two ports it is.
    throw new Error(`METRICS_PORT=${port} on METRICS_HOST=${host}: ${errorMessage(error)}`)
  }
}

const metricsServer = ({ host, port, render, logger }: MetricsServerOptions) =>
  Bun.serve({
    hostname: host,
    port,
    // Never Bun's development error page (a stack, file paths) for a failure here: see `error`.
    development: false,
    async fetch(request) {
      // The path read as text: a request without a (sane) Host has a URL that does not parse.
      if (pathOf(request.url) !== '/metrics') return new Response('not found: try /metrics\n', { status: 404 })
      if (request.method !== 'GET' && request.method !== 'HEAD')
        return new Response('method not allowed\n', { status: 405, headers: { allow: 'GET, HEAD' } })
      const headers = { 'content-type': Registry.PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' }
      // Bun leaves Date out of a HEAD answer unless given one (see ../http/head-date).
      if (request.method === 'HEAD') return new Response(null, { headers: { ...headers, date: new Date().toUTCString() } })
      return new Response(await render(), { headers })
    },
    error(error) {
      logger.error('metrics scrape failed', { error: errorMessage(error) })
      return new Response('metrics unavailable\n', { status: 500, headers: { 'cache-control': 'no-store' } })
    },
  })

/** The log line that says where the metrics are. */
export const announce = (logger: Logger, server: { url: URL }) => logger.info('serving metrics', { url: new URL('/metrics', server.url).href })
