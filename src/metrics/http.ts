import { Elysia } from 'elysia'
import { Problem } from '../http/problem'
import { WRONG_CURRENT_PASSWORD, problems } from '../http/problems'
import { responseStatus } from '../http/request-log'
import { routeLabel } from '../http/route-label'
import type { ServiceMetrics } from './registry'

// The methods the label keeps as they are; any other is `_OTHER`, again to bound the series.
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

type Observe = (seconds: number) => void

// A wrong current_password is a 422 of its own field error, checked like a login.
const isWrongCurrentPassword = ({ status, errors }: Problem) =>
  status === 422 && errors?.length === 1 && errors[0]!.field === WRONG_CURRENT_PASSWORD.field && errors[0]!.message === WRONG_CURRENT_PASSWORD.message

// Told apart by their details, as the catalogue makes them.
const RATE_LIMITED = problems.tooManyRequests(1).detail
const LOGIN_THROTTLED = problems.loginThrottled(1).detail
const BAD_CREDENTIALS = problems.unauthorized('credentials').detail

/**
 * `httpMetrics({ metrics })`: times every request into `http_server_request_duration_seconds`
 * by method, route template (see `../http/route-label`) and status code;
 * counts rate-limit refusals, refused logins and replayed answers; reports the requests in flight
 * when scraped.
 */
export const httpMetrics = ({ metrics }: { metrics: ServiceMetrics }) => {
  const started = new WeakMap<Request, number>()
  // One histogram child per label set: looking one up by its labels hashes them on every call.
  const children = new Map<string, Observe>()
  const child = (method: string, route: string, status: number): Observe => {
    const key = `${method} ${status} ${route}`
    let observe = children.get(key)
    if (observe === undefined) {
      const histogram = metrics.requestDuration.labels(method, route, String(status))
      children.set(key, (observe = (seconds) => histogram.observe(seconds)))
    }
    return observe
  }
  let server: { pendingRequests: number } | null = null
  metrics.readers.requestsInFlight = () => server?.pendingRequests ?? 0
  return new Elysia({ name: 'http-metrics' })
    .onRequest(({ request, server: current }) => {
      started.set(request, performance.now())
      server ??= current
    })
    .onError({ as: 'global' }, ({ error }) => {
      if (!(error instanceof Problem)) return
      if (error.detail === RATE_LIMITED) metrics.rateLimited.inc()
      else if (error.detail === LOGIN_THROTTLED) metrics.loginsThrottled.inc()
      else if (error.detail === BAD_CREDENTIALS || isWrongCurrentPassword(error)) metrics.loginsFailed.inc()
    })
    .onAfterResponse({ as: 'global' }, ({ request, route, set, responseValue }) => {
      const start = started.get(request)
      if (start === undefined) return
      const method = KNOWN_METHODS.has(request.method) ? request.method : '_OTHER'
      const replayed = responseValue instanceof Response ? responseValue.headers.get('idempotent-replayed') : set.headers['idempotent-replayed']
      if (replayed === 'true') metrics.idempotentReplays.inc()
      // The template, never the path: however many paths scanners try, the series stay few.
      child(method, routeLabel(request, route), responseStatus(responseValue, set.status))((performance.now() - start) / 1000)
    })
}
