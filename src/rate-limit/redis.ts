/**
 * One limit across instances: a counter per client and window in Redis (Bun's built-in client),
 * incremented and given its expiry in one atomic step. If Redis does not answer within
 * `timeoutMs`, the request is judged by `fallback` (this process group's own limit) and one
 * warning is logged until Redis answers again: never a 5xx, never a wait.
 */
import { RedisClient } from 'bun'
import type { Logger } from '../logger'
import { verdict, windowAt, type Limit, type RateLimitStore } from './window'

const INCREMENT = `local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count`

const DEFAULT_TIMEOUT_MS = 200
const RECONNECT_EVERY_MS = 1000

const within = <T>(promise: Promise<T>, ms: number) => {
  let timer: Timer | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer))
}

export const redisStore = (
  { limit, windowSeconds }: Limit,
  {
    url,
    fallback,
    logger,
    timeoutMs = DEFAULT_TIMEOUT_MS,
    keyPrefix = 'users-api:rate',
    now = Date.now,
  }: { url: string; fallback: RateLimitStore; logger: Logger; timeoutMs?: number; keyPrefix?: string; now?: () => number },
): RateLimitStore => {
  // Commands fail at once while disconnected instead of queueing behind a reconnect.
  const redis = new RedisClient(url, { enableOfflineQueue: false, connectionTimeout: timeoutMs, autoReconnect: true })
  let degraded = false
  let lastAttempt = 0
  const connect = () => {
    lastAttempt = now()
    const attempt = redis.connect()
    attempt.catch(() => {})
    return attempt
  }
  // The first requests wait (up to `timeoutMs`) for the first connection.
  let firstConnection: Promise<void> | undefined = connect()
  const increment = async (key: string) => {
    if (!redis.connected) {
      // While Redis is known to be away, nothing waits for it; a reconnection is tried each second.
      if (degraded) {
        if (now() - lastAttempt >= RECONNECT_EVERY_MS) connect()
        throw new Error('not connected')
      }
      await firstConnection
    }
    return Number(await redis.send('EVAL', [INCREMENT, '1', key, String(windowSeconds + 1)]))
  }
  return {
    async hit(client) {
      const { index, resetSeconds } = windowAt(now(), windowSeconds)
      try {
        const count = await within(increment(`${keyPrefix}:${windowSeconds}:${index}:${client}`), timeoutMs)
        if (degraded) logger.info('rate-limit store answers again')
        degraded = false
        return verdict(count, limit, resetSeconds)
      } catch (error) {
        if (!degraded) logger.warn('rate-limit store unavailable; limiting in this process group alone', { error: error instanceof Error ? error.message : String(error) })
        degraded = true
        firstConnection = undefined
        return fallback.hit(client)
      }
    },
    async close() {
      redis.close()
    },
  }
}
