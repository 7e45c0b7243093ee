import { TypeCompiler } from '@sinclair/typebox/compiler'
import { t, type Static } from 'elysia'
import { decimalInteger, describeRule } from './http/strict-types'

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

export type LogLevel = (typeof LOG_LEVELS)[number]

export interface Config {
  port: number
  host: string
  databaseUrl?: string
  dataDir: string
  logLevel: LogLevel
  databasePoolMax: number
  bodyLimit: number
}

/** The start-up refusal: one line per bad variable, naming it. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'))
    this.name = 'ConfigError'
  }
}

/** Reads the settings from `source` (the environment); an empty variable counts as unset. */
export const loadConfig = (source: Record<string, string | undefined> = process.env): Config => {
  const raw: Record<string, string> = { ...DEFAULTS }
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = source[key]
    if (value !== undefined && value !== '') raw[key] = value
  }
  if (!env.Check(raw)) {
    const problems = new Map<string, string>()
    for (const error of env.Errors(raw)) {
      const name = error.path.slice(1)
      if (!problems.has(name))
        problems.set(name, `${name}=${JSON.stringify(raw[name] ?? '')} ${RULES[name] ?? describeRule(error.schema) ?? 'is not valid'}`)
    }
    throw new ConfigError([...problems.values()].map((problem) => `invalid configuration: ${problem}`))
  }
  const value: Static<typeof EnvSchema> = env.Decode(raw)
  return {
    port: value.PORT,
    host: value.HOST,
    databaseUrl: value.DATABASE_URL,
    dataDir: value.DATA_DIR,
    logLevel: value.LOG_LEVEL,
    databasePoolMax: value.DATABASE_POOL_MAX,
    bodyLimit: value.BODY_LIMIT,
  }
}
