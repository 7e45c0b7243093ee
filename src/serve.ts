/**
 * One serving process (alone, or one of the workers): opens the database, migrates, listens, and
 * drains when stopped. `./serve-command` decides which processes serve.
 */
import { createApp } from './app'
import type { ServiceState } from './http/health'
import { unhandledFailure } from './http/unhandled'
import type { Config } from './config'
import { databaseOptions, openDatabase, type Database, type DatabaseOptions } from './db/connect'
import { isDatabaseUnavailable } from './db/errors'
import { migrate } from './db/migrate'
import { errorMessage } from './error-message'
import type { Logger } from './logger'
import { startTelemetry, type Telemetry } from './metrics/setup'
import { rateLimitStoreFor } from './rate-limit/for-process'
import { workerNumber } from './workers'

const MIGRATION_RETRY_MS = 1000

/**
 * Applies the migrations, retrying while the database is unreachable: a service started before
 * its database answers 503 until then, and recovers without a restart. False: stopped first.
 */
const migrateWhenReachable = async (database: Database, state: ServiceState, logger: Logger) => {
  for (let attempt = 1; !state.draining; attempt++) {
    try {
      const applied = await migrate(database.sql)
      logger.info('migrations applied', { database: database.kind, applied })
      return true
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error
      if (attempt === 1) logger.warn('database unavailable; retrying migrations', { error: String(error) })
      await Bun.sleep(MIGRATION_RETRY_MS)
    }
  }
  return false
}

/**
 * After the migrations: the first admin (see `./auth/first-admin`). Worker 1 creates it; the
 * others wait until it exists (or cannot come: the email is a user's), so that no worker is ready
 * before the configured admin can log in.
 */
const bootstrap = async (config: Config, database: Database, logger: Logger, worker: number | undefined, state: ServiceState) => {
  if (!config.auth) return
  const { ensureFirstAdmin, firstAdminSettled } = await import('./auth/first-admin')
  if ((worker ?? 1) !== 1) {
    if (config.admin && !(await firstAdminSettled(database.sql, config.admin.email))) logger.warn('no admin after waiting for the first worker to create it')
    return
  }
  if (config.authSecrets.length === 0 && database.kind === 'server' && config.production)
    logger.warn('AUTH_SECRET is not set: tokens are signed with a key generated and kept in the database')
  await ensureFirstAdmin(database.sql, config.admin, logger).catch((error) => {
    // Stopped meanwhile: the pool closed under the statement, which is no failure.
    if (state.draining) return
    logger.error('the first admin could not be created', { error: errorMessage(error) })
    process.exit(1)
  })
}

/** A running service: `stop` drains for up to SHUTDOWN_TIMEOUT, then closes the database. */
export interface RunningService {
  stop(signal: string): Promise<{ drained: boolean }>
}

/** How the dev loop starts the service again: on its own database, whose schema it knows. */
export interface Restart {
  database: DatabaseOptions
  /** Settles once the database takes connections: until then the app is built, not served. */
  databaseReady?: Promise<void>
  /** Migrated by the previous start in this process, with the same migrations: skip the check (and the first admin). */
  schemaCurrent: boolean
}

/**
 * Opens the database, migrates (an embedded one before listening), and listens. `restart`: the
 * dev loop's own database, and whether its schema is known to be current.
 */
export const startService = async (config: Config, logger: Logger, restart?: Restart): Promise<RunningService> => {
  const worker = workerNumber()
  const db = await openDatabase(restart?.database ?? databaseOptions(config))
  const state: ServiceState = { migrated: restart?.schemaCurrent ?? false, draining: false }
  // An embedded database cannot be down for long (in the dev loop it is the session's): migrated
  // before listening, it never answers 503 for want of its schema. The app is built while the
  // database answers (the dev loop's reload waits for both, not one after the other).
  // Ready (`state.migrated`) once the schema is current and the first admin exists.
  const migrateThenBootstrap = async () => {
    if (!(await migrateWhenReachable(db, state, logger))) return
    await bootstrap(config, db, logger, worker, state)
    state.migrated = true
  }
  const databaseReady = restart?.databaseReady ?? Promise.resolve()
  const schemaReady = db.kind === 'embedded' && !state.migrated ? databaseReady.then(migrateThenBootstrap) : databaseReady
  schemaReady.catch(() => undefined)
  const rateLimitStore = rateLimitStoreFor(config, logger)
  let telemetry: Telemetry | undefined
  // What a start took: given back when the service stops, or when its start fails part-way.
  const release = async () => {
    await Promise.all([db.close(), rateLimitStore?.close?.()])
    // After the pool: the spans of requests a forced close ended are exported too.
    await telemetry?.stop()
  }
  const listening = async () => {
    telemetry = await startTelemetry(config, logger, worker)
    const app = createApp({ config, sql: db.sql, logger, state, rateLimitStore, telemetry })
    await schemaReady
    try {
      return app.listen({
        port: config.port,
        hostname: config.host,
        idleTimeout: config.idleTimeout,
        // BODY_LIMIT is enforced by the app (from Content-Length, or while reading): above Bun's own
        // ceiling (128 MiB) Bun would answer 413 itself, without our headers or a problem body.
        maxRequestBodySize: Number.MAX_SAFE_INTEGER,
        // Sharing the port only among our own workers: a second copy started by mistake fails to bind.
        reusePort: worker !== undefined,
        development: false,
        error: unhandledFailure(logger),
      }).server!
    } catch (error) {
      // Bun's line ("Is port 8000 in use?") does not say which of the service's two ports it is.
      throw new Error(`PORT=${config.port} on HOST=${config.host}: ${errorMessage(error)}`)
    }
  }
  const server = await listening().catch(async (error: unknown) => {
    // A start that fails part-way gives back what it took (the metrics port, the connection): the
    // dev loop starts again in this same process, on a database that takes one connection.
    state.draining = true
    await schemaReady.catch(() => undefined)
    await release()
    throw error
  })
  // The embedded database is one connection whatever the setting; a server's share is worth seeing.
  const pool = db.kind === 'server' ? config.databasePoolPerWorker : undefined
  logger.info('listening', { url: `http://${config.host}:${server.port}`, database: db.kind, worker, pool })
  const migrating = state.migrated ? Promise.resolve() : migrateThenBootstrap()
  migrating.catch((error) => {
    if (state.draining) return
    logger.error('migrations failed', { error: errorMessage(error) })
    process.exit(1)
  })
  return {
    // Readiness fails first, so a load balancer stops sending; requests in flight get
    // SHUTDOWN_TIMEOUT to finish; then the pool is closed (with its own timeout).
    async stop(signal) {
      state.draining = true
      logger.info('shutting down', { signal, in_flight: server.pendingRequests })
      const drained = await Promise.race([server.stop(false).then(() => true), Bun.sleep(config.shutdownTimeout).then(() => false)])
      if (!drained) {
        logger.warn('shutdown timeout: closing the connections still open', { in_flight: server.pendingRequests })
        await server.stop(true)
      }
      await release()
      return { drained }
    },
  }
}
