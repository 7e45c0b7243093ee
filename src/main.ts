#!/usr/bin/env bun
/**
 * The service's command line (see USAGE). Settings come from the environment, validated before
 * anything starts.
 */
import { createApp } from './app'
import { ConfigError, loadConfig, type Config } from './config'
import { openDatabase } from './db/connect'
import { migrate } from './db/migrate'
import { createLogger, type Logger } from './logger'
import { isPrimary, joinPrimary, superviseWorkers } from './workers'
import pkg from '../package.json'

const USAGE = `usage: users-api [command]

commands:
  serve         migrate the database, then serve HTTP (the default)
  migrate       apply pending migrations and exit
  healthcheck   exit 0 if this machine's server answers GET /readyz with 200, else 1
  --help        show this text
  --version     print the version

Settings come from the environment: PORT, HOST, DATABASE_URL, DATA_DIR, LOG_LEVEL,
DATABASE_POOL_MAX, BODY_LIMIT, WORKERS (see the README).`

const HEALTHCHECK_TIMEOUT_MS = 3000

const databaseOptions = (config: Config) => ({
  url: config.databaseUrl,
  dataDir: config.dataDir,
  poolMax: config.databasePoolMax,
})

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

const serve = async (config: Config, logger: Logger) => {
  if (isPrimary(config)) return superviseWorkers(config, logger, () => migrateOnly(config, logger))
  const worker = joinPrimary()
  const database = await openDatabase(databaseOptions(config))
  const applied = worker ? [] : await migrate(database.sql)
  // Sharing the port only among our own workers: a second copy started by mistake fails to bind.
  const app = createApp({ config, sql: database.sql, logger }).listen({ port: config.port, hostname: config.host, reusePort: worker !== undefined })
  logger.info('listening', { url: `http://${config.host}:${app.server!.port}`, database: database.kind, migrations_applied: applied, worker })

  const stop = async (signal: string) => {
    logger.info('shutting down', { signal })
    await app.stop()
    await database.close()
    process.exit(0)
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

const main = async () => {
  const command = process.argv[2] ?? 'serve'
  if (command === '--help' || command === '-h') return console.log(USAGE)
  if (command === '--version' || command === '-v') return console.log(pkg.version)
  if (!['serve', 'migrate', 'healthcheck'].includes(command) || process.argv.length > 3) {
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
  const logger = createLogger(config.logLevel)
  try {
    await (command === 'migrate' ? migrateOnly : serve)(config, logger)
  } catch (error) {
    logger.error('start-up failed', { error: error instanceof Error ? error.message : String(error) })
    process.exit(1)
  }
}

await main()
