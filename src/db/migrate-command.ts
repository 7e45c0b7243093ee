import type { Config } from '../config'
import type { Logger } from '../logger'
import { databaseOptions, openDatabase } from './connect'
import { migrate } from './migrate'

/** `users-api migrate`: applies the pending migrations and exits. */
export const migrateOnly = async (config: Config, logger: Logger) => {
  const database = await openDatabase(databaseOptions(config))
  try {
    const applied = await migrate(database.sql)
    logger.info('migrations applied', { database: database.kind, applied })
  } finally {
    await database.close()
  }
}
