/**
 * Access control, assembled from the configuration: with `AUTH=off` the guard and `/auth/*` are
 * empty plugins (the users API is open, `role` and `password` still stored).
 */
import { Elysia } from 'elysia'
import type { Sql } from 'postgres'
import type { Config } from '../config'
import type { ClientAddress } from '../http/client-address'
import type { ServiceState } from '../http/health'
import { createAccountRules } from './accounts'
import { accessGuard } from './guard'
import { createLogins } from './logins'
import { createHasher } from './passwords'
import { authRoutes } from './routes'
import { TokenPair } from './schemas'
import { tokenFirst } from './token-first'
import { createTokens, loadSigningKeys } from './tokens'

export type AccessConfig = Pick<
  Config,
  'auth' | 'authSecrets' | 'accessTokenTtl' | 'refreshTokenTtl' | 'signupOpen' | 'hashConcurrency' | 'requestTimeout' | 'bodyLimit'
>

/** Access control on `sql`; `state` says whether the migrations have run (until then 503). */
export const createAccess = (sql: Sql, config: AccessConfig, clientOf: ClientAddress, state: ServiceState) => {
  const hasher = createHasher({ concurrency: config.hashConcurrency })
  // The dummy hash is made now (off the JavaScript thread), not by the first login for an unknown
  // email, which would otherwise take two hashes' time: a difference a caller could see.
  if (config.auth) void hasher.dummyHash()
  const tokens = createTokens(() => loadSigningKeys(sql, config.authSecrets), config)
  const logins = createLogins(sql, { hasher, tokens, ...config, timeoutMs: config.requestTimeout })
  return {
    hasher,
    tokens,
    accounts: createAccountRules({ sql, hasher, logins, auth: config.auth, timeoutMs: config.requestTimeout }),
    /** For `problemResponses`: a refusal made before any statement checked the token checks it first (see `./token-first`). */
    tokenFirst: config.auth ? tokenFirst({ sql, state, timeoutMs: config.requestTimeout }) : undefined,
    /** Who may call what on `/users` (see `./guard`); nothing with `AUTH=off`. */
    guard: () => (config.auth ? accessGuard({ tokens, signupOpen: config.signupOpen, state }) : new Elysia({ name: 'access-guard' })),
    /** The schemas `/auth/*` adds to the OpenAPI document's components. */
    schemas: { TokenPair },
    /** `/auth/*`; absent (404) with `AUTH=off`. */
    routes: () => (config.auth ? authRoutes({ logins, clientOf, state }) : new Elysia({ name: 'auth' })),
  }
}
