/** What the dev reloader builds and loads on each save: the service, from the environment. */
import { loadConfig } from '../config'
import { databaseOptions } from '../db/connect'
import { createLogger } from '../logger'
import { startService } from '../serve'

/**
 * Starts the service on the dev session's embedded database (its socket), or on DATABASE_URL's;
 * `schemaCurrent`: an earlier start in this process migrated it with the same migrations.
 */
export const start = (embeddedSocketDir: string | undefined, schemaCurrent = false) => {
  const config = loadConfig()
  return startService(config, createLogger(config.logLevel), { database: { ...databaseOptions(config), embeddedSocketDir }, schemaCurrent })
}
