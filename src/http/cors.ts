import { cors } from '@elysiajs/cors'
import { Elysia, NotFoundError } from 'elysia'
import { allowedMethods } from './allowed-methods'
import type { RouteEntry } from './elysia-internals'
import { pathOf } from './request-path'
import { noteTemplate } from './route-label'

const PREFLIGHT_MAX_AGE_SECONDS = 600

/** The headers the service gives meaning to, which a page on an allowed origin may read. */
export const API_RESPONSE_HEADERS = ['x-request-id', 'location', 'link', 'retry-after', 'www-authenticate', 'etag', 'idempotent-replayed', 'ratelimit', 'ratelimit-policy']

/**
 * `corsPolicy({ origins })`: browsers on these origins may call the API (no credentials); with
 * none, no CORS headers at all. Register it before the rate limit: its headers go on every
 * response, a 429 included (a page could not read it otherwise). Preflights are `corsPreflight`'s.
 */
export const corsPolicy = ({ origins }: { origins: string[] }) =>
  origins.length === 0
    ? new Elysia({ name: 'cors-off' })
    : cors({
        origin: origins,
        credentials: false,
        methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
        allowedHeaders: ['authorization', 'content-type', 'x-request-id', 'if-match', 'if-none-match', 'idempotency-key'],
        exposeHeaders: API_RESPONSE_HEADERS,
        // The plugin would answer every OPTIONS, on any path, before the rate limit sees it.
        preflight: false,
      })

/**
 * `corsPreflight({ origins, routes })`: the preflight, answered by a route, so after every request
 * hook (the rate limit counts it, and may refuse it, like any request). Register it after the
 * error handler: an `OPTIONS` that is no preflight, or one for a path `routes` does not serve, is
 * answered like any method the path does not serve (405 with `Allow`, or 404).
 */
export const corsPreflight = ({ origins, routes }: { origins: string[]; routes: () => readonly RouteEntry[] }) => {
  if (origins.length === 0) return new Elysia({ name: 'cors-preflight-off' })
  const answer = ({ request, set }: { request: Request; set: { headers: Record<string, unknown> } }) => {
    const asked = request.headers.has('origin') && request.headers.has('access-control-request-method')
    const table = routes()
    if (!asked || allowedMethods(table, pathOf(request.url)).length === 0) throw new NotFoundError()
    noteTemplate(request, table)
    set.headers['access-control-max-age'] = String(PREFLIGHT_MAX_AGE_SECONDS)
    return new Response(null, { status: 204 })
  }
  return new Elysia({ name: 'cors-preflight' }).options('/', answer, { detail: { hide: true } }).options('/*', answer, { detail: { hide: true } })
}
