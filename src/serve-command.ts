/**
 * `users-api serve`: with `WORKERS` > 1 the first process supervises the workers (and loads nothing
 * of the service itself, so the workers start sooner); otherwise this process serves.
 */
import type { Config } from './config'
import type { Logger } from './logger'
import type { RunningService } from './serve'
import { exitWithParent, isPrimary, superviseWorkers, workerNumber } from './workers'

/**
 * `users-api serve`: the workers' primary, or one service that exits 0 once drained on a signal.
 * `signalledEarly` tells of a SIGTERM/SIGINT that came while the program was still loading.
 */
export const serve = async (config: Config, logger: Logger, signalledEarly: () => string | undefined = () => undefined) => {
  // Workers migrate as a single process does; the advisory lock lets one of them apply the changes.
  if (isPrimary(config)) {
    // The group's metrics (none with METRICS_PORT=0) need prom-client only: nothing of the service
    // is loaded here. Loaded first, so that no await comes between the look at an early signal and
    // the workers' start.
    const groupMetrics = config.metricsPort === 0 ? undefined : await import('./metrics/group')
    // Told to stop before any worker started: there is nothing to stop.
    if (signalledEarly()) process.exit(0)
    // The budget cannot be kept then: a worker without a connection could serve nothing.
    if (config.databasePoolMax < config.workers)
      logger.warn('DATABASE_POOL_MAX is below WORKERS: each worker still opens one connection', {
        database_pool_max: config.databasePoolMax,
        workers: config.workers,
      })
    return superviseWorkers(config, logger, groupMetrics?.startGroupMetrics(config, logger))
  }
  if (workerNumber() !== undefined) exitWithParent()
  // A worker told to stop while it still starts (its primary stopping early) must not die of the
  // signal's default action, which counts as a crash: it starts, then stops at once.
  let service: RunningService | undefined
  let signalled = signalledEarly()
  let stopping = false
  const shutdown = async (signal: string) => {
    signalled ??= signal
    if (service === undefined || stopping) return
    stopping = true
    const { drained } = await service.stop(signal)
    logger.info('stopped', { drained })
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
  service = await (await import('./serve')).startService(config, logger)
  if (signalled) await shutdown(signalled)
}
