import type { Config } from '../config'
import type { Logger } from '../logger'
import { workerNumber } from '../workers'
import { groupWorkerStore, reportBatch, type RateLimitTotal } from './group'
import { redisStore } from './redis'
import { localStore, type RateLimitStore } from './window'

/**
 * Where this process counts requests: alone (one process), with its process group through the
 * primary (a worker), and across instances in Redis with `RATE_LIMIT_STORE` (falling back to one of
 * the former while Redis is away). Undefined when rate limiting is off.
 */
export const rateLimitStoreFor = (
  config: Pick<Config, 'rateLimit' | 'rateLimitWindow' | 'rateLimitStore' | 'workers'>,
  logger: Logger,
): RateLimitStore | undefined => {
  if (config.rateLimit === 0) return undefined
  const limit = { limit: config.rateLimit, windowSeconds: config.rateLimitWindow }
  let local: RateLimitStore = localStore(limit)
  if (workerNumber() !== undefined && process.send) {
    const send = process.send.bind(process)
    const group = groupWorkerStore({ ...limit, batch: reportBatch(config.rateLimit, config.workers), worker: workerNumber(), workers: config.workers }, (report) => send(report))
    process.on('message', (message: RateLimitTotal) => {
      if (message?.kind === 'rate-limit/total') group.receive(message)
    })
    local = group
  }
  return config.rateLimitStore ? redisStore(limit, { url: config.rateLimitStore, fallback: local, logger }) : local
}
