import { TypeCompiler } from '@sinclair/typebox/compiler'
import { t, type Static } from 'elysia'
import { decimalInteger, describeRule } from './http/strict-types'
import { defaultWorkers } from './workers'

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const

const EnvSchema = t.Object({
  PORT: decimalInteger({ minimum: 0, maximum: 65535 }),
  HOST: t.String({ minLength: 1 }),
  DATABASE_URL: t.Optional(t.String({ pattern: '^postgres(?:ql)?://' })),
  DATA_DIR: t.String({ minLength: 1 }),
  LOG_LEVEL: t.Union(LOG_LEVELS.map((level) => t.Literal(level))),
  DATABASE_POOL_MAX: decimalInteger({ minimum: 1, maximum: 1000 }),
  BODY_LIMIT: decimalInteger({ minimum: 1, maximum: 16 * 1024 * 1024 }),
  WORKERS: t.Optional(decimalInteger({ minimum: 1, maximum: 256 })),
})

const DEFAULTS = {
  PORT: '8000',
  HOST: '0.0.0.0',
  DATA_DIR: './data',
  LOG_LEVEL: 'info',
  DATABASE_POOL_MAX: '10',
  BODY_LIMIT: '65536',
}

const RULES: Record<string, string> = {
  HOST: 'must not be empty',
  DATABASE_URL: 'must be a postgres:// or postgresql:// URL',
  DATA_DIR: 'must not be empty',
  LOG_LEVEL: `must be one of ${LOG_LEVELS.join(', ')}`,
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
    workers: value.DATABASE_URL === undefined ? 1 : (value.WORKERS ?? workers),
  }
}
