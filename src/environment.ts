/**
 * The environment variables the service reads: what each accepts, its default, and how to put a
 * bad value right. `loadConfig` (config.ts) checks them all at start-up.
 */
import { t } from 'elysia'
import { LOG_LEVELS } from './logger'
import { decimalInteger, strictText } from './schema/strict-types'
import { LENGTH_RULE } from './auth/password-rules'

/** The largest `BODY_LIMIT` allowed, in bytes. */
const MAX_BODY_LIMIT = 16 * 1024 * 1024

/** The OpenTelemetry samplers `OTEL_TRACES_SAMPLER` may name. */
export const TRACE_SAMPLERS = [
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
  'always_on',
  'always_off',
  'traceidratio',
] as const

export const EnvSchema = t.Object({
  PORT: decimalInteger({ minimum: 0, maximum: 65535 }),
  HOST: t.String({ minLength: 1 }),
  DATABASE_URL: t.Optional(t.String({ pattern: '^postgres(?:ql)?://' })),
  DATA_DIR: t.String({ minLength: 1, pattern: '\\S' }),
  LOG_LEVEL: t.Union(LOG_LEVELS.map((level) => t.Literal(level))),
  DATABASE_POOL_MAX: decimalInteger({ minimum: 1, maximum: 1000 }),
  BODY_LIMIT: decimalInteger({ minimum: 1, maximum: MAX_BODY_LIMIT }),
  DATABASE_PREPARE: t.Union([t.Literal('true'), t.Literal('false')]),
  REQUEST_TIMEOUT: decimalInteger({ minimum: 100, maximum: 600_000 }),
  SHUTDOWN_TIMEOUT: decimalInteger({ minimum: 0, maximum: 600_000 }),
  IDLE_TIMEOUT: decimalInteger({ minimum: 1, maximum: 255 }),
  RATE_LIMIT: decimalInteger({ minimum: 0, maximum: 1_000_000 }),
  RATE_LIMIT_WINDOW: decimalInteger({ minimum: 1, maximum: 86_400 }),
  RATE_LIMIT_STORE: t.Optional(t.String({ pattern: '^rediss?://' })),
  CORS_ORIGINS: t.Optional(t.String({ pattern: '^(https?://[^\\s,/]+)(,https?://[^\\s,/]+)*$' })),
  WORKERS: t.Optional(decimalInteger({ minimum: 1, maximum: 256 })),
  METRICS_PORT: decimalInteger({ minimum: 0, maximum: 65535 }),
  METRICS_HOST: t.String({ minLength: 1 }),
  OTEL_EXPORTER_OTLP_ENDPOINT: t.Optional(t.String({ pattern: '^https?://' })),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: t.Optional(t.String({ pattern: '^https?://' })),
  OTEL_EXPORTER_OTLP_PROTOCOL: t.Optional(t.Literal('http/json')),
  OTEL_SDK_DISABLED: t.Optional(t.Union([t.Literal('true'), t.Literal('false')])),
  OTEL_BSP_SCHEDULE_DELAY: t.Optional(decimalInteger({ minimum: 1, maximum: 3_600_000 })),
  // Read by the tracing itself (src/metrics/tracing.ts); checked here with the rest.
  OTEL_TRACES_SAMPLER: t.Optional(t.Union(TRACE_SAMPLERS.map((name) => t.Literal(name)))),
  OTEL_TRACES_SAMPLER_ARG: t.Optional(t.String({ pattern: '^(0(\\.[0-9]+)?|1(\\.0+)?)$' })),
  AUTH: t.Union([t.Literal('on'), t.Literal('off')]),
  // White space around a key is a slip (`a, b` for `a,b`): kept, it would sign with a key no one else has.
  AUTH_SECRET: t.Optional(t.String({ pattern: '^[^,\\s][^,]{30,}[^,\\s](,[^,\\s][^,]{30,}[^,\\s])*$' })),
  TRUSTED_PROXIES: t.Optional(t.String({ pattern: '^[0-9a-fA-F.:/]+(,[0-9a-fA-F.:/]+)*$' })),
  ACCESS_TOKEN_TTL: decimalInteger({ minimum: 1, maximum: 86_400 }),
  REFRESH_TOKEN_TTL: decimalInteger({ minimum: 1, maximum: 31_536_000 }),
  SIGNUP: t.Union([t.Literal('open'), t.Literal('closed')]),
  // The rule a user's email meets through the API: an admin who could never log in helps nobody.
  ADMIN_EMAIL: t.Optional(strictText({ minLength: 3, maxLength: 254, trim: true, format: 'email' })),
  ADMIN_PASSWORD: t.Optional(t.String({ minLength: 1, maxLength: 512 })),
  HASH_CONCURRENCY: decimalInteger({ minimum: 1, maximum: 64 }),
  REQUIRE_IF_MATCH: t.Union([t.Literal('true'), t.Literal('false')]),
})

export const DEFAULTS = {
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
  METRICS_PORT: '9464',
  METRICS_HOST: '127.0.0.1',
  // Access control, as shipped: on, sign-up closed.
  AUTH: 'on', SIGNUP: 'closed', ACCESS_TOKEN_TTL: '900', REFRESH_TOKEN_TTL: '2592000', HASH_CONCURRENCY: '2',
  REQUIRE_IF_MATCH: 'false',
}

/** How to put right a variable whose schema alone would explain it badly. */
export const RULE_TEXT: Record<string, string> = {
  HOST: 'must be an IP address or a host name',
  DATABASE_URL: 'must be a postgres:// or postgresql:// URL',
  DATA_DIR: 'must be a directory path, not blank',
  LOG_LEVEL: `must be one of ${LOG_LEVELS.join(', ')}`,
  DATABASE_PREPARE: 'must be true or false',
  RATE_LIMIT_STORE: 'must be a redis:// or rediss:// URL',
  CORS_ORIGINS: 'must be a comma-separated list of origins such as https://app.example.com',
  METRICS_HOST: 'must be an IP address or a host name',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'must be an http:// or https:// URL naming a host',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'must be an http:// or https:// URL naming a host',
  OTEL_EXPORTER_OTLP_PROTOCOL: 'must be http/json, the only protocol this service exports',
  OTEL_SDK_DISABLED: 'must be true or false',
  OTEL_TRACES_SAMPLER: `must be one of ${TRACE_SAMPLERS.join(', ')}`,
  OTEL_TRACES_SAMPLER_ARG: 'must be a ratio from 0 to 1, such as 0.1',
  AUTH: 'must be on or off',
  AUTH_SECRET: 'must be one or more comma-separated keys of at least 32 characters each, without white space around them',
  TRUSTED_PROXIES: 'must be a comma-separated list of IP addresses or CIDR ranges',
  SIGNUP: 'must be open or closed',
  REQUIRE_IF_MATCH: 'must be true or false',
  ADMIN_EMAIL: 'must be a valid email address (local@domain.tld, as the API accepts)',
  ADMIN_PASSWORD: LENGTH_RULE,
}

// Values that may hold a password are named, never echoed.
export const SECRET_VARIABLES = new Set(['DATABASE_URL', 'RATE_LIMIT_STORE', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'AUTH_SECRET', 'ADMIN_PASSWORD'])
