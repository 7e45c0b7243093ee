import { TypeCompiler } from '@sinclair/typebox/compiler'
import { t, type Static } from 'elysia'
import { decimalInteger, describeRule } from './http/strict-types'
import { defaultWorkers } from './workers'

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const

/** The largest `BODY_LIMIT` allowed, in bytes. */
export const MAX_BODY_LIMIT = 16 * 1024 * 1024

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
}

const RULES: Record<string, string> = {
  HOST: 'must not be empty',
  DATABASE_URL: 'must be a postgres:// or postgresql:// URL',
  DATA_DIR: 'must not be empty',
  LOG_LEVEL: `must be one of ${LOG_LEVELS.join(', ')}`,
  DATABASE_PREPARE: 'must be true or false',
  CORS_ORIGINS: 'must be a comma-separated list of origins such as https://app.example.com',
}

const env = TypeCompiler.Compile(EnvSchema)

// Values that may hold a password are named, never echoed.
const SECRET = new Set(['DATABASE_URL'])

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

const problemLine = (name: string, value: string | undefined, rule: string) =>
  `invalid configuration: ${name}${SECRET.has(name) ? '' : `=${JSON.stringify(value ?? '')}`} ${rule}`

export type LogLevel = (typeof LOG_LEVELS)[number]

export interface Config {
  port: number
  host: string
  databaseUrl?: string
  dataDir: string
  logLevel: LogLevel
  databasePoolMax: number
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
 * `workers` is what an unset `WORKERS` means on a database server (see `defaultWorkers`).
 */
export const loadConfig = (source: Record<string, string | undefined> = process.env, workers = defaultWorkers()): Config => {
  const raw: Record<string, string> = { ...DEFAULTS }
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = source[key]
    if (value !== undefined && value !== '') raw[key] = value
  }
  const problems = new Map<string, string>()
  for (const error of env.Errors(raw)) {
    const name = error.path.slice(1)
    if (!problems.has(name)) problems.set(name, problemLine(name, raw[name], RULES[name] ?? describeRule(error.schema) ?? 'is not valid'))
  }
  if (raw.DATABASE_URL !== undefined && !problems.has('DATABASE_URL') && !isUsableUrl(raw.DATABASE_URL))
    problems.set('DATABASE_URL', problemLine('DATABASE_URL', raw.DATABASE_URL, RULES.DATABASE_URL!))
  // The embedded database lives in this process: a second process cannot reach it.
  if (raw.DATABASE_URL === undefined && !problems.has('WORKERS') && raw.WORKERS !== undefined && Number(raw.WORKERS) > 1)
    problems.set('WORKERS', problemLine('WORKERS', raw.WORKERS, 'must be 1 without DATABASE_URL: the embedded database serves one process'))
  if (problems.size > 0) throw new ConfigError([...problems.values()])
  const value: Static<typeof EnvSchema> = env.Decode(raw)
  return {
    port: value.PORT,
    host: value.HOST,
    databaseUrl: value.DATABASE_URL,
    dataDir: value.DATA_DIR,
    logLevel: value.LOG_LEVEL,
    databasePoolMax: value.DATABASE_POOL_MAX,
    bodyLimit: value.BODY_LIMIT,
    databasePrepare: value.DATABASE_PREPARE === 'true',
    requestTimeout: value.REQUEST_TIMEOUT,
    shutdownTimeout: value.SHUTDOWN_TIMEOUT,
    idleTimeout: value.IDLE_TIMEOUT,
    rateLimit: value.RATE_LIMIT,
    rateLimitWindow: value.RATE_LIMIT_WINDOW,
    corsOrigins: value.CORS_ORIGINS ? value.CORS_ORIGINS.split(',') : [],
    workers: value.DATABASE_URL === undefined ? 1 : (value.WORKERS ?? workers),
  }
}
