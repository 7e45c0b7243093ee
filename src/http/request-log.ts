import { Elysia } from 'elysia'
import type { Logger } from '../logger'

/**
 * `requestLog({ logger })`: one `request` line per response, after it is sent: request id,
 * method, route template (or path when no route matched), status, duration in ms. Never the body.
 */
export const requestLog = ({ logger }: { logger: Logger }) => {
  const started = new WeakMap<Request, number>()
  return new Elysia({ name: 'request-log' })
    .onRequest(({ request }) => {
      started.set(request, performance.now())
    })
    .onAfterResponse({ as: 'global' }, ({ request, route, path, set, responseValue }) => {
      const status = responseValue instanceof Response ? responseValue.status : typeof set.status === 'number' ? set.status : 200
      const start = started.get(request)
      logger.info('request', {
        request_id: set.headers['x-request-id'],
        method: request.method,
        route: route || path,
        status,
        duration_ms: start === undefined ? undefined : Math.round((performance.now() - start) * 100) / 100,
      })
    })
}
