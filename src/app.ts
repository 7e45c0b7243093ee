import { Elysia } from 'elysia'
import type { Sql } from 'postgres'
import { createAccess, type AccessConfig } from './auth/access'
import { FORM_PATHS } from './auth/routes'
import type { Config } from './config'
import { clientAddress } from './http/client-address'
import { corsPolicy, corsPreflight } from './http/cors'
import { apiDocs } from './http/docs'
import { routeTable } from './http/elysia-internals'
import { problemResponses } from './http/errors'
import { headDate } from './http/head-date'
import { health, type ServiceState } from './http/health'
import { jsonBody } from './http/json-body'
import { rateLimit } from './http/rate-limit'
import { requestId } from './http/request-id'
import { requestLog } from './http/request-log'
import { securityHeaders } from './http/security-headers'
import type { Logger } from './logger'
import type { Telemetry } from './metrics/setup'
import type { RateLimitStore } from './rate-limit/window'
import { createIdempotentCreate, keepBodyRejections } from './users/idempotency'
import { usersRoutes, userSchemas, withAccountFaults } from './users/routes'
import { createUserService } from './users/service'

export interface AppDependencies {
  config: Pick<Config, 'rateLimit' | 'rateLimitWindow' | 'corsOrigins' | 'trustedProxies' | 'requireIfMatch'> & AccessConfig
  sql: Sql
  logger: Logger
  state?: ServiceState
  /** Where the rate limit counts (default: this process alone), and metrics and traces (default: none). */
  rateLimitStore?: RateLimitStore
  telemetry?: Telemetry
}

/** The whole HTTP service on one `sql` client: the composition root. Tests build their own. */
export const createApp = ({ config, sql, logger, state = { migrated: true, draining: false }, rateLimitStore, telemetry }: AppDependencies) => {
  const app = new Elysia({ normalize: false, handler: { standardHostname: false } }) // the path after any host (or none: patches/)
  const clientOf = clientAddress(config.trustedProxies)
  const access = createAccess(sql, config, clientOf, state)
  const idempotent = createIdempotentCreate(sql, { timeoutMs: config.requestTimeout, hasher: access.hasher, state })
  return app
    .use(requestLog({ logger, fields: telemetry?.logFields }))
    .use(telemetry?.plugin ?? new Elysia({ name: 'telemetry' }))
    .use(requestId())
    .use(headDate())
    .use(securityHeaders())
    .use(corsPolicy({ origins: config.corsOrigins }))
    .use(rateLimit({ limit: config.rateLimit, windowSeconds: config.rateLimitWindow, store: rateLimitStore, clientOf }))
    .use(access.guard())
    .use(jsonBody({ limit: config.bodyLimit, formPaths: FORM_PATHS }))
    .use(problemResponses({ logger, routes: () => routeTable(app), tokenFirst: access.tokenFirst, fields: telemetry?.logFields,
      bodyRejected: withAccountFaults(access.accounts, keepBodyRejections(idempotent)) }))
    .use(corsPreflight({ origins: config.corsOrigins, routes: () => routeTable(app) }))
    .use(apiDocs({ settings: { bodyLimit: config.bodyLimit }, schemas: { ...userSchemas, ...access.schemas }, auth: config.auth }))
    .use(health({ sql, state, timeoutMs: config.requestTimeout }))
    .use(access.routes())
    .use(usersRoutes({ users: createUserService(sql, { timeoutMs: config.requestTimeout }), idempotent, accounts: access.accounts, state, clientOf, ...config }))
}

export type App = ReturnType<typeof createApp>
