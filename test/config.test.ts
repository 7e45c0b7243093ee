import { describe, expect, test } from 'bun:test'
import { ConfigError, loadConfig } from '../src/config'
import { EnvSchema } from '../src/environment'

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).problems
  }
  throw new Error('expected a ConfigError')
}

describe('configuration', () => {
  test('defaults', () => {
    expect(loadConfig({})).toEqual({
      production: false,
      port: 8000,
      host: '0.0.0.0',
      databaseUrl: undefined,
      dataDir: './data',
      logLevel: 'info',
      databasePoolMax: 10,
      databasePoolPerWorker: 10,
      bodyLimit: 65536,
      databasePrepare: true,
      requestTimeout: 5000,
      shutdownTimeout: 10000,
      idleTimeout: 10,
      rateLimit: 0,
      rateLimitWindow: 60,
      corsOrigins: [],
      workers: 1,
      metricsPort: 9464,
      metricsHost: '127.0.0.1',
      otlpEndpoint: undefined,
      auth: true,
      authSecrets: [],
      trustedProxies: [],
      accessTokenTtl: 900,
      refreshTokenTtl: 2592000,
      signupOpen: false,
      admin: undefined,
      hashConcurrency: 2,
      requireIfMatch: false,
    })
  })

  test('AUTH_SECRET: white space within a key is part of it; a key may hold any character but a comma', () => {
    const keys = ['a passphrase of many words and no less', 'ключ из тридцати двух символов!!', `${'é'.repeat(31)}\u00a0x`]
    expect(loadConfig({ AUTH_SECRET: keys.join(',') }).authSecrets).toEqual(keys)
  })

  test('.env.example shows every variable the service checks', async () => {
    const example = await Bun.file(new URL('../.env.example', import.meta.url)).text()
    const shown = new Set([...example.matchAll(/^# ?([A-Z_]+)=|^([A-Z_]+)=/gm)].map((match) => match[1] ?? match[2]))
    expect(Object.keys(EnvSchema.properties).filter((name) => !shown.has(name))).toEqual([])
  })

  test('every variable is read; an empty one counts as unset', () => {
    expect(
      loadConfig({
        PORT: '9000',
        HOST: '127.0.0.1',
        DATABASE_URL: 'postgresql://u:p@db:5432/users',
        DATA_DIR: '/var/lib/users',
        LOG_LEVEL: 'debug',
        DATABASE_POOL_MAX: '4',
        BODY_LIMIT: '1024',
        DATABASE_PREPARE: 'false',
        REQUEST_TIMEOUT: '2500',
        SHUTDOWN_TIMEOUT: '30000',
        IDLE_TIMEOUT: '30',
        RATE_LIMIT: '100',
        RATE_LIMIT_WINDOW: '10',
        RATE_LIMIT_STORE: 'redis://:secret@cache:6379/2',
        CORS_ORIGINS: 'https://app.example.com,http://localhost:5173',
        WORKERS: '3',
        METRICS_PORT: '0',
        METRICS_HOST: '0.0.0.0',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        AUTH: 'off',
        AUTH_SECRET: `${'a'.repeat(32)},${'b'.repeat(40)}`,
        TRUSTED_PROXIES: '10.0.0.0/8,::1',
        ACCESS_TOKEN_TTL: '60',
        REFRESH_TOKEN_TTL: '3600',
        SIGNUP: 'open',
        ADMIN_EMAIL: 'root@example.com',
        ADMIN_PASSWORD: 'correct horse battery staple',
        HASH_CONCURRENCY: '4',
        REQUIRE_IF_MATCH: 'true',
        NODE_ENV: 'production',
      }),
    ).toEqual({
      production: true,
      port: 9000,
      host: '127.0.0.1',
      databaseUrl: 'postgresql://u:p@db:5432/users',
      dataDir: '/var/lib/users',
      logLevel: 'debug',
      databasePoolMax: 4,
      databasePoolPerWorker: 1,
      bodyLimit: 1024,
      databasePrepare: false,
      requestTimeout: 2500,
      shutdownTimeout: 30000,
      idleTimeout: 30,
      rateLimit: 100,
      rateLimitWindow: 10,
      rateLimitStore: 'redis://:secret@cache:6379/2',
      corsOrigins: ['https://app.example.com', 'http://localhost:5173'],
      workers: 3,
      metricsPort: 0,
      metricsHost: '0.0.0.0',
      otlpEndpoint: 'http://collector:4318',
      auth: false,
      authSecrets: ['a'.repeat(32), 'b'.repeat(40)],
      trustedProxies: ['10.0.0.0/8', '::1'],
      accessTokenTtl: 60,
      refreshTokenTtl: 3600,
      signupOpen: true,
      admin: { email: 'root@example.com', password: 'correct horse battery staple' },
      hashConcurrency: 4,
      requireIfMatch: true,
    })
    expect(loadConfig({ DATABASE_URL: '', PORT: '' }).databaseUrl).toBeUndefined()
  })

  test.each([
    ['PORT', 'abc', 'invalid configuration: PORT="abc" must be an integer from 0 to 65535, written in decimal digits'],
    ['PORT', '70000', 'invalid configuration: PORT="70000" must be an integer from 0 to 65535, written in decimal digits'],
    ['LOG_LEVEL', 'verbose', 'invalid configuration: LOG_LEVEL="verbose" must be one of debug, info, warn, error'],
    ['DATABASE_URL', 'mysql://x', 'invalid configuration: DATABASE_URL must be a postgres:// or postgresql:// URL'],
    ['AUTH_SECRET', 'short-secret', 'invalid configuration: AUTH_SECRET must be one or more comma-separated keys of at least 32 characters each, without white space around them'],
    ['AUTH_SECRET', `${'a'.repeat(32)}, ${'b'.repeat(32)}`, 'invalid configuration: AUTH_SECRET must be one or more comma-separated keys of at least 32 characters each, without white space around them'],
    ['AUTH_SECRET', ' '.repeat(40), 'invalid configuration: AUTH_SECRET must be one or more comma-separated keys of at least 32 characters each, without white space around them'],
    ['AUTH_SECRET', `${'a'.repeat(32)}\t`, 'invalid configuration: AUTH_SECRET must be one or more comma-separated keys of at least 32 characters each, without white space around them'],
    ['ADMIN_PASSWORD', 'x'.repeat(600), 'invalid configuration: ADMIN_PASSWORD must be 15 to 128 characters long'],
    ['AUTH', 'maybe', 'invalid configuration: AUTH="maybe" must be on or off'],
    ['ADMIN_EMAIL', 'root@example.com', 'invalid configuration: ADMIN_EMAIL and ADMIN_PASSWORD go together: set both, or neither'],
    // Addresses the API refuses: such an admin could never log in.
    ['ADMIN_EMAIL', 'a..b@example.com', 'invalid configuration: ADMIN_EMAIL="a..b@example.com" must be a valid email address (local@domain.tld, as the API accepts)'],
    ['ADMIN_EMAIL', 'admin@exa_mple.com', 'invalid configuration: ADMIN_EMAIL="admin@exa_mple.com" must be a valid email address (local@domain.tld, as the API accepts)'],
    ['HOST', '999.1.1.1', 'invalid configuration: HOST="999.1.1.1" must be an IP address or a host name'],
    ['HOST', 'bad host', 'invalid configuration: HOST="bad host" must be an IP address or a host name'],
    ['METRICS_HOST', '999.1.1.1', 'invalid configuration: METRICS_HOST="999.1.1.1" must be an IP address or a host name'],
    ['METRICS_PORT', '8000', 'invalid configuration: METRICS_PORT="8000" must differ from PORT: metrics are never served on the API port'],
    ['METRICS_PORT', '08000', 'invalid configuration: METRICS_PORT="08000" must differ from PORT: metrics are never served on the API port'],
    ['ADMIN_PASSWORD', 'a secret phrase of many words', 'invalid configuration: ADMIN_EMAIL and ADMIN_PASSWORD go together: set both, or neither'],
    ['TRUSTED_PROXIES', '10.0.0.0/33', 'invalid configuration: TRUSTED_PROXIES="10.0.0.0/33" must be a comma-separated list of IP addresses or CIDR ranges'],
    ['TRUSTED_PROXIES', '1.2.3', 'invalid configuration: TRUSTED_PROXIES="1.2.3" must be a comma-separated list of IP addresses or CIDR ranges'],
    ['DATABASE_URL', 'postgres://u:%zz@127.0.0.1/test', 'invalid configuration: DATABASE_URL must be a postgres:// or postgresql:// URL'],
    ['DATABASE_URL', 'postgres://', 'invalid configuration: DATABASE_URL must be a postgres:// or postgresql:// URL'],
    ['DATABASE_URL', 'postgres://u@db:0/users', 'invalid configuration: DATABASE_URL must be a postgres:// or postgresql:// URL'],
    // A secret: named, never echoed.
    ['RATE_LIMIT_STORE', 'memcached://:secret@cache', 'invalid configuration: RATE_LIMIT_STORE must be a redis:// or rediss:// URL'],
    // Checked with or without RATE_LIMIT, before anything starts (Bun's Redis client would say only "Invalid URL format").
    ['RATE_LIMIT_STORE', 'redis://:secret@cache:notaport', 'invalid configuration: RATE_LIMIT_STORE must be a redis:// or rediss:// URL'],
    ['RATE_LIMIT_STORE', 'redis://', 'invalid configuration: RATE_LIMIT_STORE must be a redis:// or rediss:// URL'],
    ['RATE_LIMIT_STORE', 'redis://cache:0', 'invalid configuration: RATE_LIMIT_STORE must be a redis:// or rediss:// URL'],
    ['RATE_LIMIT_STORE', 'rediss://cache/abc', 'invalid configuration: RATE_LIMIT_STORE must be a redis:// or rediss:// URL'],
    ['RATE_LIMIT_STORE', 'redis://?host=cache', 'invalid configuration: RATE_LIMIT_STORE must be a redis:// or rediss:// URL'],
    ['DATABASE_POOL_MAX', '0', 'invalid configuration: DATABASE_POOL_MAX="0" must be an integer from 1 to 1000, written in decimal digits'],
    ['DATABASE_PREPARE', 'no', 'invalid configuration: DATABASE_PREPARE="no" must be true or false'],
    ['REQUEST_TIMEOUT', '5s', 'invalid configuration: REQUEST_TIMEOUT="5s" must be an integer from 100 to 600000, written in decimal digits'],
    ['CORS_ORIGINS', '*', 'invalid configuration: CORS_ORIGINS="*" must be a comma-separated list of origins such as https://app.example.com'],
    ['CORS_ORIGINS', 'https://a.example.com/path', 'invalid configuration: CORS_ORIGINS="https://a.example.com/path" must be a comma-separated list of origins such as https://app.example.com'],
    ['DATA_DIR', '  ', 'invalid configuration: DATA_DIR="  " must be a directory path, not blank'],
    ['WORKERS', '0', 'invalid configuration: WORKERS="0" must be an integer from 1 to 256, written in decimal digits'],
    ['WORKERS', 'all', 'invalid configuration: WORKERS="all" must be an integer from 1 to 256, written in decimal digits'],
    ['WORKERS', '2', 'invalid configuration: WORKERS="2" must be 1 without DATABASE_URL: the embedded database serves one process'],
    ['BODY_LIMIT', '64k', 'invalid configuration: BODY_LIMIT="64k" must be an integer from 1 to 16777216, written in decimal digits'],
    ['METRICS_PORT', '-1', 'invalid configuration: METRICS_PORT="-1" must be an integer from 0 to 65535, written in decimal digits'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'grpc://u:secret@collector:4317', 'invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL naming a host'],
    // A URL the exporter cannot read: it would quietly send to localhost instead.
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'http://', 'invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL naming a host'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'http://u:secret@collector:99999', 'invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL naming a host'],
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'https://collector:0/v1/traces', 'invalid configuration: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http:// or https:// URL naming a host'],
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc', 'invalid configuration: OTEL_EXPORTER_OTLP_PROTOCOL="grpc" must be http/json, the only protocol this service exports'],
    ['OTEL_TRACES_SAMPLER', 'sometimes', 'invalid configuration: OTEL_TRACES_SAMPLER="sometimes" must be one of parentbased_always_on, parentbased_always_off, parentbased_traceidratio, always_on, always_off, traceidratio'],
    ['OTEL_BSP_SCHEDULE_DELAY', 'abc', 'invalid configuration: OTEL_BSP_SCHEDULE_DELAY="abc" must be an integer from 1 to 3600000, written in decimal digits'],
    ['OTEL_TRACES_SAMPLER_ARG', '1.5', 'invalid configuration: OTEL_TRACES_SAMPLER_ARG="1.5" must be a ratio from 0 to 1, such as 0.1'],
  ])('%s=%p: one line naming it', (name, value, line) => {
    expect(problemsOf({ [name]: value })).toEqual([line])
  })

  test('ADMIN_PASSWORD: the rules that need no dictionary stop start-up at once, naming the variable, never the value', () => {
    const env = (password: string, more: Record<string, string> = {}) => ({ ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: password, ...more })
    expect(problemsOf(env('short secret'))).toEqual(['invalid configuration: ADMIN_PASSWORD must be 15 to 128 characters long'])
    expect(problemsOf(env('x'.repeat(129)))).toEqual(['invalid configuration: ADMIN_PASSWORD must be 15 to 128 characters long'])
    // Counted in code points after NFKC: a ligature is two letters, an emoji one character.
    expect(problemsOf(env('ﬁ'.repeat(7)))).toEqual(['invalid configuration: ADMIN_PASSWORD must be 15 to 128 characters long'])
    expect(loadConfig(env('ﬁ'.repeat(8))).admin).toEqual({ email: 'root@example.com', password: 'ﬁ'.repeat(8) })
    expect(loadConfig(env('🔑'.repeat(15))).admin?.password).toBe('🔑'.repeat(15))
    expect(problemsOf(env('ROOT@EXAMPLE.COM'))).toEqual(['invalid configuration: ADMIN_PASSWORD must not be the email or the name'])
    // Without access control there is no admin to make: not looked at.
    expect(loadConfig(env('short secret', { AUTH: 'off' })).auth).toBe(false)
  })

  test('HOST and METRICS_HOST: an IPv4 or IPv6 address, or a host name', () => {
    for (const host of ['0.0.0.0', '127.0.0.1', '::', '::1', 'localhost', 'api.internal', 'users-api-1']) {
      expect(loadConfig({ HOST: host, METRICS_HOST: host })).toMatchObject({ host, metricsHost: host })
    }
  })

  test('WORKERS: unset means the default on a server (every core in the binary, 1 from source), always 1 embedded', () => {
    const server = { DATABASE_URL: 'postgres://u@127.0.0.1/db' }
    expect(loadConfig(server).workers).toBe(1)
    expect(loadConfig(server, 4).workers).toBe(4)
    expect(loadConfig({ ...server, WORKERS: '2' }, 4).workers).toBe(2)
    expect(loadConfig({}, 4).workers).toBe(1)
    expect(loadConfig({ WORKERS: '1' }).workers).toBe(1)
  })

  test('DATABASE_POOL_MAX is the total for every worker together: split evenly, at least one each', () => {
    const server = { DATABASE_URL: 'postgres://u@127.0.0.1/db' }
    const split = (env: Record<string, string>, unsetWorkers?: number) => {
      const config = loadConfig({ ...server, ...env }, unsetWorkers)
      return [config.databasePoolMax, config.workers, config.databasePoolPerWorker]
    }
    expect(split({ DATABASE_POOL_MAX: '10', WORKERS: '4' })).toEqual([10, 4, 2])
    expect(split({ DATABASE_POOL_MAX: '3', WORKERS: '4' })).toEqual([3, 4, 1])
    expect(split({ DATABASE_POOL_MAX: '10', WORKERS: '1' })).toEqual([10, 1, 10])
    expect(split({ DATABASE_POOL_MAX: '12', WORKERS: '3' })).toEqual([12, 3, 4])
    // The default on a 64-core machine stays within a stock PostgreSQL's max_connections (100).
    expect(split({}, 64)).toEqual([10, 64, 1])
    expect(split({}, 2)).toEqual([10, 2, 5])
    // Embedded: one process, which keeps the whole figure.
    expect(loadConfig({ DATABASE_POOL_MAX: '7' }, 4).databasePoolPerWorker).toBe(7)
  })

  test('tracing: the traces endpoint wins over the general one; OTEL_SDK_DISABLED=true turns it off', () => {
    const general = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }
    expect(loadConfig({ ...general, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/v1/traces' }).otlpEndpoint).toBe('http://traces:4318/v1/traces')
    expect(loadConfig({ ...general, OTEL_SDK_DISABLED: 'true' }).otlpEndpoint).toBeUndefined()
    expect(loadConfig({ ...general, OTEL_SDK_DISABLED: 'false' }).otlpEndpoint).toBe('http://collector:4318')
    for (const ratio of ['0', '0.25', '1', '1.0']) expect(loadConfig({ ...general, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: ratio }).otlpEndpoint).toBeDefined()
  })

  test('several bad variables: one line each', () => {
    expect(problemsOf({ PORT: 'x', LOG_LEVEL: 'loud' })).toEqual([
      'invalid configuration: PORT="x" must be an integer from 0 to 65535, written in decimal digits',
      'invalid configuration: LOG_LEVEL="loud" must be one of debug, info, warn, error',
    ])
  })
})
