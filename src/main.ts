#!/usr/bin/env bun
/**
 * The service's command line (see USAGE). Settings come from the environment, validated before
 * anything starts. Each command loads only what it needs: `--help` and `--version` nothing at all.
 */
import pkg from '../package.json'

const USAGE = `usage: users-api [command]

commands:
  serve         migrate the database, then serve HTTP (the default)
  migrate       apply pending migrations and exit
  healthcheck   exit 0 if this machine's server answers GET /readyz with 200, else 1
  --help        show this text
  --version     print the version

Settings come from the environment (PORT, HOST, DATABASE_URL, DATA_DIR, LOG_LEVEL, ...):
see the README's configuration table or .env.example.`

const COMMANDS = ['serve', 'migrate', 'healthcheck']

const main = async () => {
  const command = process.argv[2] ?? 'serve'
  if (command === '--help' || command === '-h') return console.log(USAGE)
  if (command === '--version' || command === '-v') return console.log(pkg.version)
  if (!COMMANDS.includes(command) || process.argv.length > 3) {
    console.error(USAGE)
    process.exit(2)
  }
  // From here on, a SIGTERM or SIGINT is noted rather than fatal: `serve` acts on it once it runs.
  let signalledEarly: string | undefined
  const noteSignal = (signal: string) => void (signalledEarly ??= signal)
  if (command === 'serve') for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, noteSignal)
  const { ConfigError, loadConfig } = await import('./config')
  let config
  try {
    config = loadConfig()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(error.message)
    process.exit(1)
  }
  if (command === 'healthcheck') return (await import('./healthcheck')).healthcheck(config)
  const { createLogger } = await import('./logger')
  const logger = createLogger(config.logLevel)
  try {
    if (command === 'migrate') await (await import('./db/migrate-command')).migrateOnly(config, logger)
    // The note stays: with a listener always there, no signal ever meets the default action.
    else await (await import('./serve')).serve(config, logger, () => signalledEarly)
  } catch (error) {
    logger.error('start-up failed', { error: error instanceof Error ? error.message : String(error) })
    process.exit(1)
  }
}

// No top-level await: the compiled binary can then ship as bytecode.
main().catch((error) => {
  console.error(error)
  process.exit(1)
})
