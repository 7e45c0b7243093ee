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
  create-admin EMAIL
                create an admin, or make that user an admin; the password is read from
                standard input (not shown when typed)
  unlock EMAIL  forget the failed logins of EMAIL, so it is no longer throttled
  settings      print every setting: its default and what it does
  --help        show this text
  --version     print the version

Settings come from the environment (PORT, HOST, DATABASE_URL, DATA_DIR, LOG_LEVEL, ...):
\`users-api settings\` lists them all.`

const COMMANDS = ['serve', 'migrate', 'healthcheck', 'create-admin', 'unlock', 'settings']

const main = async () => {
  const command = process.argv[2] ?? 'serve'
  if (command === '--help' || command === '-h') return console.log(USAGE)
  if (command === '--version' || command === '-v') return console.log(pkg.version)
  const withEmail = command === 'create-admin' || command === 'unlock'
  if (!COMMANDS.includes(command) || (withEmail ? process.argv.length !== 4 : process.argv.length > 3)) {
    // What was wrong, then how it is done.
    const wrong = !COMMANDS.includes(command) ? `unknown command: ${command}` : withEmail && process.argv.length < 4 ? `${command} needs an EMAIL` : `too many arguments for ${command}`
    console.error(`${wrong}\n\n${USAGE}`)
    process.exit(2)
  }
  // .env.example, less its opening lines on copying it to .env (which only a run from source reads),
  // whatever the environment holds.
  if (command === 'settings') {
    const { default: example } = await import('../.env.example', { with: { type: 'text' } })
    return void process.stdout.write(example.slice(example.indexOf('\n\n') + 2))
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
  if (withEmail) process.exit(await (await import('./auth/cli')).runAccountCommand(command, process.argv[3]!, config))
  const { createLogger } = await import('./logger')
  const logger = createLogger(config.logLevel)
  try {
    if (command === 'migrate') await (await import('./db/migrate-command')).migrateOnly(config, logger)
    // The note stays: with a listener always there, no signal ever meets the default action.
    else await (await import('./serve-command')).serve(config, logger, () => signalledEarly)
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
