import { Elysia } from 'elysia'
import type { Logger } from '../logger'
import { routeLabel } from './route-label'

/** The status a response went out with, as `onAfterResponse` sees it. */
export const responseStatus = (responseValue: unknown, status: unknown) =>
  responseValue instanceof Response ? responseValue.status : typeof status === 'number' ? status : 200

/**
 * `requestLog({ logger, fields })`: one `request` line per response, after it is sent: request id,
 * method, route template (as the metrics label it: see `./route-label`), status, duration in ms, and
 * what `fields(request)` adds (a trace's ids). Never the body.
 */
export const requestLog = ({ logger, fields }: { logger: Logger; fields?: (request: Request) => Record<string, string> | undefined }) => {
  const started = new WeakMap<Request, number>()
  return new Elysia({ name: 'request-log' })
    .onRequest(({ request }) => {
      started.set(request, performance.now())
    })
    .onAfterResponse({ as: 'global' }, ({ request, route, set, responseValue }) => {
      const status = responseStatus(responseValue, set.status)
      const start = started.get(request)
      logger.info('request', {
        request_id: set.headers['x-request-id'],
        method: request.method,
        route: routeLabel(request, route),
        status,
        duration_ms: start === undefined ? undefined : Math.round((performance.now() - start) * 100) / 100,
        ...fields?.(request),
      })
    })
}
