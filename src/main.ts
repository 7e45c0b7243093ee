#!/usr/bin/env bun
/**
 * The service's command line (see USAGE). Settings come from the environment, validated before
 * anything starts.
 */
import { createApp, type ServiceState } from './app'
import { ConfigError, loadConfig, type Config } from './config'
import { openDatabase, type Database } from './db/connect'
import { isDatabaseUnavailable } from './db/errors'
import { migrate } from './db/migrate'
import { createLogger, type Logger } from './logger'
import { exitWithPrimary, isPrimary, superviseWorkers, workerNumber } from './workers'
import pkg from '../package.json'

const USAGE = `usage: users-api [command]

commands:
  serve         migrate the database, then serve HTTP (the default)
  migrate       apply pending migrations and exit
  healthcheck   exit 0 if this machine's server answers GET /readyz with 200, else 1
  create-admin EMAIL
                create an admin, or make that user an admin; the password is read from
                standard input (not shown when typed)
  unlock EMAIL  forget the failed logins of EMAIL, so it is no longer throttled
  --help        show this text
  --version     print the version

Settings come from the environment (PORT, HOST, DATABASE_URL, DATA_DIR, LOG_LEVEL, ...):
see the README's configuration table or .env.example.`

const HEALTHCHECK_TIMEOUT_MS = 3000

const databaseOptions = (config: Config) => ({
  url: config.databaseUrl,
  dataDir: config.dataDir,
  poolMax: config.databasePoolPerWorker,
  prepare: config.databasePrepare,
  statementTimeoutMs: config.requestTimeout,
})

const MIGRATION_RETRY_MS = 1000

/**
 * Applies the migrations, retrying while the database is unreachable: a service started before
 * its database answers 503 until then, and recovers without a restart.
 */
const migrateWhenReachable = async (database: Database, state: ServiceState, logger: Logger) => {
  for (let attempt = 1; !state.draining; attempt++) {
    try {
      const applied = await migrate(database.sql)
      state.migrated = true
      logger.info('migrations applied', { database: database.kind, applied })
      return
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error
      if (attempt === 1) logger.warn('database unavailable; retrying migrations', { error: String(error) })
      await Bun.sleep(MIGRATION_RETRY_MS)
    }
  }
}

const migrateOnly = async (config: Config, logger: Logger) => {
  const database = await openDatabase(databaseOptions(config))
  try {
    const applied = await migrate(database.sql)
    logger.info('migrations applied', { database: database.kind, applied })
  } finally {
    await database.close()
  }
}

/** For container health checks: no curl needed, just the binary. */
const healthcheck = async (config: Config) => {
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${config.port}/readyz`
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(HEALTHCHECK_TIMEOUT_MS) })
    process.exit(response.status === 200 ? 0 : 1)
  } catch {
    process.exit(1)
  }
}

/** After the migrations: the first admin (see `./auth/first-admin`); one worker does it. */
const bootstrap = async (config: Config, database: Database, state: ServiceState, logger: Logger, worker: number | undefined) => {
  if (!config.auth || !state.migrated || (worker ?? 1) !== 1) return
  if (config.authSecrets.length === 0 && database.kind === 'server' && process.env.NODE_ENV === 'production')
    logger.warn('AUTH_SECRET is not set: tokens are signed with a key generated and kept in the database')
  const { ensureFirstAdmin } = await import('./auth/first-admin')
  await ensureFirstAdmin(database.sql, config.admin, logger).catch((error) => {
    logger.error('the first admin could not be created', { error: error instanceof Error ? error.message : String(error) })
    process.exit(1)
  })
}

const serve = async (config: Config, logger: Logger) => {
  // Workers migrate as a single process does; the advisory lock lets one of them apply the changes.
  if (isPrimary(config)) {
    // The budget cannot be kept then: a worker without a connection could serve nothing.
    if (config.databasePoolMax < config.workers)
      logger.warn('DATABASE_POOL_MAX is below WORKERS: each worker still opens one connection', {
        database_pool_max: config.databasePoolMax,
        workers: config.workers,
      })
    return superviseWorkers(config, logger)
  }
  const worker = workerNumber()
  if (worker !== undefined) exitWithPrimary()
  const database = await openDatabase(databaseOptions(config))
  const state: ServiceState = { migrated: false, draining: false }
  // The embedded database lives in this process: if it cannot migrate, nothing will fix that.
  if (database.kind === 'embedded') {
    await migrateWhenReachable(database, state, logger)
    await bootstrap(config, database, state, logger, worker)
  }
  const app = createApp({ config, sql: database.sql, logger, state }).listen({
    port: config.port,
    hostname: config.host,
    idleTimeout: config.idleTimeout,
    // Sharing the port only among our own workers: a second copy started by mistake fails to bind.
    reusePort: worker !== undefined,
  })
  const server = app.server!
  // The embedded database is one connection whatever the setting; a server's share is worth seeing.
  const pool = database.kind === 'server' ? config.databasePoolPerWorker : undefined
  logger.info('listening', { url: `http://${config.host}:${server.port}`, database: database.kind, worker, pool })
  const migrating = state.migrated ? Promise.resolve() : migrateWhenReachable(database, state, logger).then(() => bootstrap(config, database, state, logger, worker))
  migrating.catch((error) => {
    logger.error('migrations failed', { error: error instanceof Error ? error.message : String(error) })
    process.exit(1)
  })

  // Readiness fails first, so a load balancer stops sending; requests in flight get
  // SHUTDOWN_TIMEOUT to finish; then the pool is closed (with its own timeout) and we exit 0.
  const shutdown = async (signal: string) => {
    if (state.draining) return
    state.draining = true
    logger.info('shutting down', { signal, in_flight: server.pendingRequests })
    const drained = await Promise.race([server.stop(false).then(() => true), Bun.sleep(config.shutdownTimeout).then(() => false)])
    if (!drained) {
      logger.warn('shutdown timeout: closing the connections still open', { in_flight: server.pendingRequests })
      await server.stop(true)
    }
    await database.close()
    logger.info('stopped', { drained })
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}

const main = async () => {
  const command = process.argv[2] ?? 'serve'
  if (command === '--help' || command === '-h') return console.log(USAGE)
  if (command === '--version' || command === '-v') return console.log(pkg.version)
  const withEmail = command === 'create-admin' || command === 'unlock'
  if (!['serve', 'migrate', 'healthcheck', 'create-admin', 'unlock'].includes(command) || (withEmail ? process.argv.length !== 4 : process.argv.length > 3)) {
    console.error(USAGE)
    process.exit(2)
  }
  let config: Config
  try {
    config = loadConfig()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(error.message)
    process.exit(1)
  }
  if (command === 'healthcheck') return healthcheck(config)
  if (withEmail) {
    const { runAccountCommand } = await import('./auth/cli')
    process.exit(await runAccountCommand(command, process.argv[3]!, config))
  }
  const logger = createLogger(config.logLevel)
  try {
    await (command === 'migrate' ? migrateOnly : serve)(config, logger)
  } catch (error) {
    logger.error('start-up failed', { error: error instanceof Error ? error.message : String(error) })
    process.exit(1)
  }
}

await main()
