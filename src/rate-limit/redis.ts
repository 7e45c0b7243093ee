/**
 * One limit across instances: a counter per client and window in Redis (Bun's built-in client),
 * incremented and given its expiry in one atomic step. If Redis does not answer within
 * `timeoutMs`, the request is judged by `fallback` (this process group's own limit) and one
 * warning is logged; until Redis answers again (a probe each second, off any request's path),
 * requests go to `fallback` without asking it, whether its connection is down or open but stalled:
 * never a 5xx, and one wait of `timeoutMs` at most, by the requests that found it gone.
 */
import { RedisClient } from 'bun'
import type { Logger } from '../logger'
import { verdict, windowAt, type Limit, type RateLimitStore } from './window'
import { errorMessage } from '../error-message'

const INCREMENT = `local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count`

const DEFAULT_TIMEOUT_MS = 200
const RECONNECT_EVERY_MS = 1000
// Commands sent and not answered yet: past this many, Redis is not keeping up, and is not asked.
const MAX_IN_FLIGHT = 1000

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
  // Once closed, nothing reconnects it: a request still in flight at a forced stop included.
  let closed = false
  let inFlight = 0
  const connect = () => {
    const attempt = redis.connect()
    attempt.catch(() => {})
    return attempt
  }
  // The first requests wait (up to `timeoutMs`) for the first connection.
  let firstConnection: Promise<void> | undefined = connect()
  const increment = async (key: string) => {
    if (!redis.connected) await firstConnection
    if (inFlight >= MAX_IN_FLIGHT) throw new Error(`${MAX_IN_FLIGHT} commands unanswered`)
    inFlight += 1
    try {
      return Number(await redis.send('EVAL', [INCREMENT, '1', key, String(windowSeconds + 1)]))
    } finally {
      inFlight -= 1
    }
  }
  // While degraded: once a second, reconnect if need be and ask Redis something; its answer ends
  // it. On a timer, not on requests: after a quiet outage, the first requests find Redis counting.
  let probing: Timer | undefined
  let probeRunning = false
  const probe = async () => {
    if (probeRunning || closed) return
    probeRunning = true
    try {
      if (!redis.connected) await connect()
      await within(redis.send('PING', []), timeoutMs)
      if (!degraded) return
      degraded = false
      clearInterval(probing)
      probing = undefined
      logger.info('rate-limit store answers again')
    } catch {
      // Still away: the next tick asks again.
    } finally {
      probeRunning = false
    }
  }
  return {
    async hit(client) {
      if (degraded) return fallback.hit(client)
      const { index, resetSeconds } = windowAt(now(), windowSeconds)
      try {
        const count = await within(increment(`${keyPrefix}:${windowSeconds}:${index}:${client}`), timeoutMs)
        return verdict(count, limit, resetSeconds)
      } catch (error) {
        if (!degraded && !closed) {
          logger.warn('rate-limit store unavailable; limiting in this process group alone', { error: errorMessage(error) })
          degraded = true
          firstConnection = undefined
          // Never keeps the process alive: a stopping service does not wait for Redis.
          probing = setInterval(() => void probe(), RECONNECT_EVERY_MS)
          probing.unref()
        }
        return fallback.hit(client)
      }
    },
    async close() {
      closed = true
      clearInterval(probing)
      redis.close()
    },
  }
}
