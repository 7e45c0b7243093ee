import { Elysia } from 'elysia'
import type { ClientAddress } from './client-address'
import { problems } from './problems'

/**
 * A fixed-window request counter per client address: at most `limit` requests per window.
 * Returns undefined while the client is within its limit, else the seconds until its window
 * ends (for `Retry-After`). Windows that have ended are swept once per window, so memory stays
 * bounded by the clients of one window.
 */
const fixedWindowCounter = ({ limit, windowSeconds, now = Date.now }: { limit: number; windowSeconds: number; now?: () => number }) => {
  const windowMs = windowSeconds * 1000
  const windows = new Map<string, { start: number; count: number }>()
  let sweepAt = 0
  return (client: string): number | undefined => {
    const time = now()
    if (time >= sweepAt) {
      for (const [key, window] of windows) if (time - window.start >= windowMs) windows.delete(key)
      sweepAt = time + windowMs
    }
    let window = windows.get(client)
    if (!window || time - window.start >= windowMs) windows.set(client, (window = { start: time, count: 0 }))
    window.count++
    return window.count <= limit ? undefined : Math.max(1, Math.ceil((window.start + windowMs - time) / 1000))
  }
}

/**
 * `rateLimit({ limit, windowSeconds, clientOf })`: at most `limit` requests per client address (as
 * `clientOf` tells it: see `./client-address`) per window;
 * beyond that 429 with `Retry-After`. A `limit` of 0 turns it off.
 */
export const rateLimit = ({ limit, windowSeconds, clientOf }: { limit: number; windowSeconds: number; clientOf?: ClientAddress }) => {
  const plugin = new Elysia({ name: 'rate-limit', seed: { limit, windowSeconds } })
  if (limit === 0) return plugin
  const overLimit = fixedWindowCounter({ limit, windowSeconds })
  return plugin.onRequest(({ request, server }) => {
    const wait = overLimit(clientOf ? clientOf(request, server) : (server?.requestIP(request)?.address ?? 'unknown'))
    if (wait !== undefined) throw problems.tooManyRequests(wait)
  })
}
