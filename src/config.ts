import { Value } from '@sinclair/typebox/value'
import { isIP } from 'node:net'
import type { Static } from 'elysia'
import { plainRuleBreach } from './auth/password-rules'
import { DEFAULTS, EnvSchema, RULE_TEXT, SECRET_VARIABLES } from './environment'
import { describeRule } from './schema/strict-types'
import type { LogLevel } from './logger'
import { defaultWorkers } from './runtime'

/** `value` as the drivers read it (`new URL`, then user and password decoded); undefined if that fails. */
const readUrl = (value: string) => {
  try {
    const url = new URL(value)
    decodeURIComponent(url.username)
    decodeURIComponent(url.password)
    return url
  } catch {
    return undefined
  }
}

/** What postgres.js takes: a host, in the URL or as `?host=`. */
const isUsableUrl = (value: string, url = readUrl(value)) => url !== undefined && (url.hostname !== '' || url.searchParams.has('host')) && url.port !== '0'

/** What Bun's Redis client takes: a host, a port from 1 if any, a database number if any. */
const isRedisUrl = (value: string, url = readUrl(value)) => url !== undefined && url.hostname !== '' && url.port !== '0' && /^\/?[0-9]*$/.test(url.pathname)

/** What the OTLP exporter takes: http(s) to a host (with a port from 1 if any); it would fall back to localhost otherwise. */
const isCollectorUrl = (value: string, url = readUrl(value)) => url !== undefined && /^https?:$/.test(url.protocol) && url.hostname !== '' && url.port !== '0'

/** An IP address, or one with a prefix length (`10.0.0.0/8`, `fd00::/8`). */
const isAddressOrRange = (entry: string, [address, prefix, ...rest] = entry.split('/'), version = isIP(address!)) =>
  version !== 0 && rest.length === 0 && (prefix === undefined || (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128)))

// A host name's labels; all digits and dots is an IPv4 address, or nothing (`999.1.1.1`).
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
const isHost = (value: string) => isIP(value) !== 0 || (HOST_NAME.test(value) && !/^[0-9.]+$/.test(value))

const problemLine = (name: string, value: string | undefined, rule: string) =>
  `invalid configuration: ${name}${SECRET_VARIABLES.has(name) ? '' : `=${JSON.stringify(value ?? '')}`} ${rule}`

export interface Config {
  /**
   * `NODE_ENV=production`. Read from the environment at start, never as `process.env.NODE_ENV`,
   * which `bun build --compile` folds to `"development"` in the binary.
   */
  production: boolean
  port: number
  host: string
  databaseUrl?: string
  dataDir: string
  logLevel: LogLevel
  /** `DATABASE_POOL_MAX`: connections for the whole service, every worker together. */
  databasePoolMax: number
  /** This process's pool: `databasePoolMax` split evenly across the workers, at least one each. */
  databasePoolPerWorker: number
  bodyLimit: number
  /** False behind PgBouncer in transaction mode, which cannot keep prepared statements or take pipelined ones. */
  databasePrepare: boolean
  /** Milliseconds a request may wait for the database (pool and statement) before a 503. */
  requestTimeout: number
  /** Milliseconds in-flight requests get to finish after SIGTERM/SIGINT. */
  shutdownTimeout: number
  /** Seconds a connection may sit idle (or trickle a request) before it is closed. */
  idleTimeout: number
  /** Requests per client address per `rateLimitWindow` seconds; 0: no limit. */
  rateLimit: number
  rateLimitWindow: number
  /** `redis://...`: one limit across instances; unset: across this process group. */
  rateLimitStore?: string
  /** Origins allowed to call the API from a browser; empty: no CORS headers at all. */
  corsOrigins: string[]
  /** Processes serving HTTP; always 1 on the embedded database. */
  workers: number
  /** Where `/metrics` is served (never on the API port); port 0: no metrics at all. */
  metricsPort: number
  metricsHost: string
  /** Where traces go (OTLP/HTTP JSON); undefined: no tracing. */
  otlpEndpoint?: string
  /** Access control; false (`AUTH=off`) behind a gateway that authenticates. */
  auth: boolean
  /** HS256 keys: the first signs, all verify. Empty: a key generated and kept in the database. */
  authSecrets: string[]
  /** Addresses and CIDR ranges whose `X-Forwarded-For` names the client. */
  trustedProxies: string[]
  /** Seconds; `signupOpen`: anyone may create a `user` without a token; hashes at once per worker. */
  accessTokenTtl: number
  refreshTokenTtl: number
  signupOpen: boolean
  hashConcurrency: number
  admin?: { email: string; password: string }
  /** PATCH and DELETE of a user need `If-Match` (428 without). */
  requireIfMatch: boolean
}

/** The start-up refusal: one line per bad variable, naming it. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'))
    this.name = 'ConfigError'
  }
}

/**
 * Reads the settings from `source` (the environment); an empty variable counts as unset.
 * `unsetWorkers` is what an unset `WORKERS` means on a database server (see `defaultWorkers`).
 */
export const loadConfig = (source: Record<string, string | undefined> = process.env, unsetWorkers = defaultWorkers()): Config => {
  const given: Record<string, string> = { ...DEFAULTS }
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = source[key]
    if (value !== undefined && value !== '') given[key] = value
  }
  const problems = new Map<string, string>()
  for (const error of Value.Errors(EnvSchema, given)) {
    const name = error.path.slice(1)
    if (!problems.has(name)) problems.set(name, problemLine(name, given[name], RULE_TEXT[name] ?? describeRule(error.schema) ?? 'is not valid'))
  }
  const urls = [
    ['DATABASE_URL', isUsableUrl],
    ['RATE_LIMIT_STORE', isRedisUrl],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', isCollectorUrl],
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', isCollectorUrl],
  ] as const
  for (const [name, usable] of urls)
    if (given[name] !== undefined && !problems.has(name) && !usable(given[name])) problems.set(name, problemLine(name, given[name], RULE_TEXT[name]!))
  // The embedded database lives in this process: a second process cannot reach it.
  if (given.DATABASE_URL === undefined && !problems.has('WORKERS') && given.WORKERS !== undefined && Number(given.WORKERS) > 1)
    problems.set('WORKERS', problemLine('WORKERS', given.WORKERS, 'must be 1 without DATABASE_URL: the embedded database serves one process'))
  if ((given.TRUSTED_PROXIES ?? '').split(',').some((entry) => !isAddressOrRange(entry)) && given.TRUSTED_PROXIES !== undefined && !problems.has('TRUSTED_PROXIES'))
    problems.set('TRUSTED_PROXIES', problemLine('TRUSTED_PROXIES', given.TRUSTED_PROXIES, RULE_TEXT.TRUSTED_PROXIES!))
  for (const name of ['HOST', 'METRICS_HOST'] as const)
    if (!problems.has(name) && !isHost(given[name]!)) problems.set(name, problemLine(name, given[name], RULE_TEXT[name]!))
  // As numbers: `018206` is port 18206 too.
  if (Number(given.METRICS_PORT) !== 0 && Number(given.METRICS_PORT) === Number(given.PORT) && !problems.has('PORT') && !problems.has('METRICS_PORT'))
    problems.set('METRICS_PORT', problemLine('METRICS_PORT', given.METRICS_PORT, 'must differ from PORT: metrics are never served on the API port'))
  if ((given.ADMIN_EMAIL === undefined) !== (given.ADMIN_PASSWORD === undefined) && !problems.has('ADMIN_EMAIL') && !problems.has('ADMIN_PASSWORD'))
    problems.set('ADMIN_EMAIL', 'invalid configuration: ADMIN_EMAIL and ADMIN_PASSWORD go together: set both, or neither')
  // The password rules that need no dictionary, before anything starts (the dictionary's verdict
  // comes when the admin is made: loading it would slow every start).
  if (given.ADMIN_EMAIL !== undefined && given.ADMIN_PASSWORD !== undefined && given.AUTH !== 'off' && !problems.has('ADMIN_EMAIL') && !problems.has('ADMIN_PASSWORD')) {
    const breach = plainRuleBreach(given.ADMIN_PASSWORD, { email: given.ADMIN_EMAIL.trim() })
    if (breach) problems.set('ADMIN_PASSWORD', problemLine('ADMIN_PASSWORD', undefined, breach))
  }
  if (problems.size > 0) throw new ConfigError([...problems.values()])
  const parsed: Static<typeof EnvSchema> = Value.Decode(EnvSchema, given)
  const workers = parsed.DATABASE_URL === undefined ? 1 : (parsed.WORKERS ?? unsetWorkers)
  return {
    production: source.NODE_ENV === 'production',
    port: parsed.PORT,
    host: parsed.HOST,
    databaseUrl: parsed.DATABASE_URL,
    dataDir: parsed.DATA_DIR,
    logLevel: parsed.LOG_LEVEL,
    databasePoolMax: parsed.DATABASE_POOL_MAX,
    // A budget, not a per-process figure: more workers (a bigger machine) must not mean more
    // connections than the server allows (a stock PostgreSQL: max_connections 100).
    databasePoolPerWorker: Math.max(1, Math.floor(parsed.DATABASE_POOL_MAX / workers)),
    bodyLimit: parsed.BODY_LIMIT,
    databasePrepare: parsed.DATABASE_PREPARE === 'true',
    requestTimeout: parsed.REQUEST_TIMEOUT,
    shutdownTimeout: parsed.SHUTDOWN_TIMEOUT,
    idleTimeout: parsed.IDLE_TIMEOUT,
    rateLimit: parsed.RATE_LIMIT,
    rateLimitWindow: parsed.RATE_LIMIT_WINDOW,
    rateLimitStore: parsed.RATE_LIMIT_STORE,
    corsOrigins: parsed.CORS_ORIGINS ? parsed.CORS_ORIGINS.split(',') : [],
    workers,
    metricsPort: parsed.METRICS_PORT,
    metricsHost: parsed.METRICS_HOST,
    otlpEndpoint:
      parsed.OTEL_SDK_DISABLED === 'true' ? undefined : (parsed.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? parsed.OTEL_EXPORTER_OTLP_ENDPOINT),
    auth: parsed.AUTH === 'on',
    authSecrets: parsed.AUTH_SECRET ? parsed.AUTH_SECRET.split(',') : [],
    trustedProxies: parsed.TRUSTED_PROXIES ? parsed.TRUSTED_PROXIES.split(',') : [],
    accessTokenTtl: parsed.ACCESS_TOKEN_TTL,
    refreshTokenTtl: parsed.REFRESH_TOKEN_TTL,
    signupOpen: parsed.SIGNUP === 'open',
    admin: parsed.ADMIN_EMAIL && parsed.ADMIN_PASSWORD ? { email: parsed.ADMIN_EMAIL.trim(), password: parsed.ADMIN_PASSWORD } : undefined,
    hashConcurrency: parsed.HASH_CONCURRENCY,
    requireIfMatch: parsed.REQUIRE_IF_MATCH === 'true',
  }
}
