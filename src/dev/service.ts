/** What the dev reloader builds and loads on each save: the service, from the environment. */
import { loadConfig } from '../config'
import { databaseOptions } from '../db/connect'
import { createLogger } from '../logger'
import { startService } from '../serve'

/** The migrations this code applies: when they are the last start's, the schema is current. */
export { migrations } from '../db/migrations'

/**
 * Starts the service on the dev session's embedded database (its socket, once `databaseReady`),
 * or on DATABASE_URL's; `schemaCurrent`: an earlier start in this process migrated it with the
 * same migrations.
 */
export const start = (embeddedSocketDir: string | undefined, schemaCurrent: boolean, databaseReady: Promise<void>) => {
  const config = loadConfig()
  return startService(config, createLogger(config.logLevel), { database: { ...databaseOptions(config), embeddedSocketDir }, databaseReady, schemaCurrent })
}
