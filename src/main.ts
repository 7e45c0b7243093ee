#!/usr/bin/env bun
/**
 * The service's command line: `serve` (the default) migrates and serves; `migrate` only migrates.
 * Settings come from the environment, validated before anything starts.
 */
import { createApp } from './app'
import { ConfigError, loadConfig, type Config } from './config'
import { openDatabase } from './db/connect'
import { migrate } from './db/migrate'
import { createLogger, type Logger } from './logger'

const USAGE = 'usage: users-api [serve | migrate]'

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

const serve = async (config: Config, logger: Logger) => {
  const database = await openDatabase(databaseOptions(config))
  const applied = await migrate(database.sql)
  const app = createApp({ config, sql: database.sql, logger }).listen({ port: config.port, hostname: config.host })
  logger.info('listening', { url: `http://${config.host}:${app.server!.port}`, database: database.kind, migrations_applied: applied })

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
  if (command !== 'serve' && command !== 'migrate') {
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
  const logger = createLogger(config.logLevel)
  try {
    await (command === 'migrate' ? migrateOnly : serve)(config, logger)
  } catch (error) {
    logger.error('start-up failed', { error: error instanceof Error ? error.message : String(error) })
    process.exit(1)
  }
}

await main()
