import { TypeCompiler } from '@sinclair/typebox/compiler'
import { isIP } from 'node:net'
import { t, type Static } from 'elysia'
import { decimalInteger, describeRule } from './schema/strict-types'
import { LOG_LEVELS, type LogLevel } from './logger'
import { defaultWorkers } from './runtime'

/** The largest `BODY_LIMIT` allowed, in bytes. */
const MAX_BODY_LIMIT = 16 * 1024 * 1024

const EnvSchema = t.Object({
  PORT: decimalInteger({ minimum: 0, maximum: 65535 }),
  HOST: t.String({ minLength: 1 }),
  DATABASE_URL: t.Optional(t.String({ pattern: '^postgres(?:ql)?://' })),
  DATA_DIR: t.String({ minLength: 1 }),
  LOG_LEVEL: t.Union(LOG_LEVELS.map((level) => t.Literal(level))),
  DATABASE_POOL_MAX: decimalInteger({ minimum: 1, maximum: 1000 }),
  BODY_LIMIT: decimalInteger({ minimum: 1, maximum: MAX_BODY_LIMIT }),
  DATABASE_PREPARE: t.Union([t.Literal('true'), t.Literal('false')]),
  REQUEST_TIMEOUT: decimalInteger({ minimum: 100, maximum: 600_000 }),
  SHUTDOWN_TIMEOUT: decimalInteger({ minimum: 0, maximum: 600_000 }),
  IDLE_TIMEOUT: decimalInteger({ minimum: 1, maximum: 255 }),
  RATE_LIMIT: decimalInteger({ minimum: 0, maximum: 1_000_000 }),
  RATE_LIMIT_WINDOW: decimalInteger({ minimum: 1, maximum: 86_400 }),
  CORS_ORIGINS: t.Optional(t.String({ pattern: '^(https?://[^\\s,/]+)(,https?://[^\\s,/]+)*$' })),
  WORKERS: t.Optional(decimalInteger({ minimum: 1, maximum: 256 })),
  AUTH: t.Union([t.Literal('on'), t.Literal('off')]),
  AUTH_SECRET: t.Optional(t.String({ pattern: '^[^,]{32,}(,[^,]{32,})*$' })),
  TRUSTED_PROXIES: t.Optional(t.String({ pattern: '^[0-9a-fA-F.:/]+(,[0-9a-fA-F.:/]+)*$' })),
  ACCESS_TOKEN_TTL: decimalInteger({ minimum: 1, maximum: 86_400 }),
  REFRESH_TOKEN_TTL: decimalInteger({ minimum: 1, maximum: 31_536_000 }),
  SIGNUP: t.Union([t.Literal('open'), t.Literal('closed')]),
  ADMIN_EMAIL: t.Optional(t.String({ pattern: '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$', maxLength: 254 })),
  ADMIN_PASSWORD: t.Optional(t.String({ minLength: 1, maxLength: 512 })),
  HASH_CONCURRENCY: decimalInteger({ minimum: 1, maximum: 64 }),
})

const DEFAULTS = {
  PORT: '8000',
  HOST: '0.0.0.0',
  DATA_DIR: './data',
  LOG_LEVEL: 'info',
  DATABASE_POOL_MAX: '10',
  BODY_LIMIT: '65536',
  DATABASE_PREPARE: 'true',
  REQUEST_TIMEOUT: '5000',
  SHUTDOWN_TIMEOUT: '10000',
  IDLE_TIMEOUT: '10',
  RATE_LIMIT: '0',
  RATE_LIMIT_WINDOW: '60',
  // Access control, as shipped: on, sign-up closed.
  AUTH: 'on', SIGNUP: 'closed', ACCESS_TOKEN_TTL: '900', REFRESH_TOKEN_TTL: '2592000', HASH_CONCURRENCY: '2',
}

/** How to put right a variable whose schema alone would explain it badly. */
const RULE_TEXT: Record<string, string> = {
  HOST: 'must not be empty',
  DATABASE_URL: 'must be a postgres:// or postgresql:// URL',
  DATA_DIR: 'must not be empty',
  LOG_LEVEL: `must be one of ${LOG_LEVELS.join(', ')}`,
  DATABASE_PREPARE: 'must be true or false',
  CORS_ORIGINS: 'must be a comma-separated list of origins such as https://app.example.com',
  AUTH: 'must be on or off',
  AUTH_SECRET: 'must be one or more comma-separated keys of at least 32 characters each',
  TRUSTED_PROXIES: 'must be a comma-separated list of IP addresses or CIDR ranges',
  SIGNUP: 'must be open or closed',
  ADMIN_EMAIL: 'must be a valid email address',
  ADMIN_PASSWORD: 'must not be empty or longer than 512 characters',
}

const envChecker = TypeCompiler.Compile(EnvSchema)

// Values that may hold a password are named, never echoed.
const SECRET_VARIABLES = new Set(['DATABASE_URL', 'AUTH_SECRET', 'ADMIN_PASSWORD'])

/** postgres.js reads the URL with `new URL` and decodes user and password: it must survive both. */
const isUsableUrl = (value: string) => {
  try {
    const url = new URL(value)
    decodeURIComponent(url.username)
    decodeURIComponent(url.password)
    return url.hostname !== '' || url.searchParams.has('host')
  } catch {
    return false
  }
}

/** An IP address, or one with a prefix length (`10.0.0.0/8`, `fd00::/8`). */
const isAddressOrRange = (entry: string, [address, prefix, ...rest] = entry.split('/'), version = isIP(address!)) =>
  version !== 0 && rest.length === 0 && (prefix === undefined || (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128)))

const problemLine = (name: string, value: string | undefined, rule: string) =>
  `invalid configuration: ${name}${SECRET_VARIABLES.has(name) ? '' : `=${JSON.stringify(value ?? '')}`} ${rule}`

export interface Config {
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
  /** False behind PgBouncer in transaction mode, which cannot keep prepared statements. */
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
  /** Origins allowed to call the API from a browser; empty: no CORS headers at all. */
  corsOrigins: string[]
  /** Processes serving HTTP; always 1 on the embedded database. */
  workers: number
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
  for (const error of envChecker.Errors(given)) {
    const name = error.path.slice(1)
    if (!problems.has(name)) problems.set(name, problemLine(name, given[name], RULE_TEXT[name] ?? describeRule(error.schema) ?? 'is not valid'))
  }
  if (given.DATABASE_URL !== undefined && !problems.has('DATABASE_URL') && !isUsableUrl(given.DATABASE_URL))
    problems.set('DATABASE_URL', problemLine('DATABASE_URL', given.DATABASE_URL, RULE_TEXT.DATABASE_URL!))
  // The embedded database lives in this process: a second process cannot reach it.
  if (given.DATABASE_URL === undefined && !problems.has('WORKERS') && given.WORKERS !== undefined && Number(given.WORKERS) > 1)
    problems.set('WORKERS', problemLine('WORKERS', given.WORKERS, 'must be 1 without DATABASE_URL: the embedded database serves one process'))
  if ((given.TRUSTED_PROXIES ?? '').split(',').some((entry) => !isAddressOrRange(entry)) && given.TRUSTED_PROXIES !== undefined && !problems.has('TRUSTED_PROXIES'))
    problems.set('TRUSTED_PROXIES', problemLine('TRUSTED_PROXIES', given.TRUSTED_PROXIES, RULE_TEXT.TRUSTED_PROXIES!))
  if ((given.ADMIN_EMAIL === undefined) !== (given.ADMIN_PASSWORD === undefined) && !problems.has('ADMIN_EMAIL') && !problems.has('ADMIN_PASSWORD'))
    problems.set('ADMIN_EMAIL', 'invalid configuration: ADMIN_EMAIL and ADMIN_PASSWORD go together: set both, or neither')
  if (problems.size > 0) throw new ConfigError([...problems.values()])
  const parsed: Static<typeof EnvSchema> = envChecker.Decode(given)
  const workers = parsed.DATABASE_URL === undefined ? 1 : (parsed.WORKERS ?? unsetWorkers)
  return {
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
    corsOrigins: parsed.CORS_ORIGINS ? parsed.CORS_ORIGINS.split(',') : [],
    workers,
    auth: parsed.AUTH === 'on',
    authSecrets: parsed.AUTH_SECRET ? parsed.AUTH_SECRET.split(',') : [],
    trustedProxies: parsed.TRUSTED_PROXIES ? parsed.TRUSTED_PROXIES.split(',') : [],
    accessTokenTtl: parsed.ACCESS_TOKEN_TTL,
    refreshTokenTtl: parsed.REFRESH_TOKEN_TTL,
    signupOpen: parsed.SIGNUP === 'open',
    admin: parsed.ADMIN_EMAIL && parsed.ADMIN_PASSWORD ? { email: parsed.ADMIN_EMAIL.trim(), password: parsed.ADMIN_PASSWORD } : undefined,
    hashConcurrency: parsed.HASH_CONCURRENCY,
  }
}
