import { cors } from '@elysiajs/cors'
import { Elysia, t } from 'elysia'
import type { Sql } from 'postgres'
import type { Config } from './config'
import { withDeadline } from './db/deadline'
import { apiDocs } from './http/docs'
import { handleErrors, unavailable } from './http/error-handler'
import { parseJsonBody } from './http/json-body'
import { jsonResponse, problemExample, problemWith, responses, retryAfterHeader } from './http/openapi'
import { Problem } from './http/problem'
import { malformedQueryParameters } from './http/query-encoding'
import { createRateLimiter } from './http/rate-limit'
import { requestIdFrom } from './http/request-id'
import { securityHeaders } from './http/security-headers'
import type { Logger } from './logger'
import { createUserService } from './users/service'
import { usersRoutes } from './users/routes'

/** What the process knows about itself, which readiness and the user routes depend on. */
export interface ServiceState {
  /** The schema is migrated: user routes can work. */
  migrated: boolean
  /** Shutting down: readiness fails so load balancers stop sending traffic. */
  draining: boolean
}

export interface AppDependencies {
  config: Pick<Config, 'bodyLimit' | 'requestTimeout' | 'rateLimit' | 'rateLimitWindow' | 'corsOrigins'>
  sql: Sql
  logger: Logger
  state?: ServiceState
}

const READY_TIMEOUT_MS = 2000

const ok = t.String({ enum: ['ok'], maxLength: 2 })

const NOT_READY = problemWith(
  'The database does not answer `select 1` within 2 s, the migrations have not run yet, or the service is shutting down; retry after `Retry-After` seconds.',
  t.Object({ database: t.String({ enum: ['down', 'unknown'], maxLength: 7 }) }),
  { ...problemExample(503, 'The database cannot be reached'), database: 'down' },
  retryAfterHeader,
)

/** The whole HTTP service on one `sql` client; tests build their own with it. */
export const createApp = ({ config, sql, logger, state = { migrated: true, draining: false } }: AppDependencies) => {
  const app = new Elysia({ normalize: false })
  const started = new WeakMap<Request, number>()
  const overLimit = config.rateLimit > 0 ? createRateLimiter({ limit: config.rateLimit, windowSeconds: config.rateLimitWindow }) : undefined

  return app
    .onRequest(({ request, set, server }) => {
      started.set(request, performance.now())
      set.headers['x-request-id'] = requestIdFrom(request.headers.get('x-request-id'))
      Object.assign(set.headers, securityHeaders(request.url))
      const wait = overLimit?.(server?.requestIP(request)?.address ?? 'unknown')
      if (wait !== undefined) throw new Problem(429, 'Too many requests from this client; slow down', { headers: { 'retry-after': String(wait) } })
    })
    .use(
      config.corsOrigins.length > 0
        ? cors({
            origin: config.corsOrigins,
            credentials: false,
            methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
            allowedHeaders: ['content-type', 'x-request-id'],
            exposeHeaders: ['x-request-id', 'location', 'link', 'retry-after'],
            maxAge: 600,
          })
        : new Elysia(),
    )
    .onParse(parseJsonBody(config.bodyLimit))
    .onTransform(({ request }) => {
      const errors = malformedQueryParameters(request.url)
      if (errors.length > 0) throw new Problem(422, 'The request does not fit the schema', { errors })
    })
    .onError(handleErrors(logger, () => app.routes))
    .onAfterResponse(({ request, route, path, set, responseValue }) => {
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
    .use(apiDocs())
    .get('/', () => ({ status: 'ok' }), {
      detail: {
        summary: 'Liveness: the process answers',
        description: 'Never touches the database.',
        tags: ['health'],
        responses: responses({ 200: jsonResponse('Alive.', t.Object({ status: ok }), { example: { status: 'ok' } }) }),
      },
    })
    .get(
      '/readyz',
      async () => {
        if (state.draining) throw unavailable('The service is shutting down', { database: 'unknown' })
        if (!state.migrated) throw unavailable('The database is not ready yet', { database: 'down' })
        try {
          await withDeadline(() => sql`select 1`, Math.min(READY_TIMEOUT_MS, config.requestTimeout))
        } catch {
          throw unavailable('The database cannot be reached', { database: 'down' })
        }
        return { status: 'ok', database: 'ok' }
      },
      {
        detail: {
          summary: 'Readiness: the database answers and the service is not shutting down',
          description: 'Ready when the migrations have run, the database answers `select 1` within 2 s, and no shutdown has begun.',
          tags: ['health'],
          responses: responses({
            200: jsonResponse('Ready.', t.Object({ status: ok, database: ok }), { example: { status: 'ok', database: 'ok' } }),
            503: NOT_READY,
          }),
        },
      },
    )
    .onBeforeHandle(() => {
      // Until the migrations have run (the database was down at start-up), the tables may not exist.
      if (!state.migrated) throw unavailable('The database is not ready yet; try again shortly')
    })
    .use(usersRoutes(createUserService(sql, { timeoutMs: config.requestTimeout })))
}

export type App = ReturnType<typeof createApp>
