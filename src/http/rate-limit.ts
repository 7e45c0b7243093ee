import { Elysia } from 'elysia'
import { localStore, type Limit, type RateLimitStore, type Verdict } from '../rate-limit/window'
import type { ClientAddress } from './client-address'
import { problems } from './problems'

export interface RateLimitOptions extends Limit {
  /** Where requests are counted. Default: in this process (see src/rate-limit/ for the others). */
  store?: RateLimitStore
  /** Who the client is (see `./client-address`). Default: the socket's address. */
  clientOf?: ClientAddress
}

/**
 * `rateLimit({ limit, windowSeconds, store, clientOf })`: at most `limit` requests per client address
 * (as `clientOf` tells it: see `./client-address`) per window (fixed windows aligned to the clock); beyond that 429 with `Retry-After`. Every response
 * says where the client stands (`RateLimit-Policy`, `RateLimit`: draft-ietf-httpapi-ratelimit-headers).
 * A `limit` of 0 turns it off, headers included.
 */
export const rateLimit = ({ limit, windowSeconds, store, clientOf }: RateLimitOptions) => {
  const plugin = new Elysia({ name: 'rate-limit', seed: { limit, windowSeconds } })
  if (limit === 0) return plugin
  const counted = store ?? localStore({ limit, windowSeconds })
  const policy = `"default";q=${limit};w=${windowSeconds}`
  const judge = (verdict: Verdict, headers: Record<string, unknown>) => {
    headers['ratelimit-policy'] = policy
    headers.ratelimit = `"default";r=${verdict.remaining};t=${verdict.resetSeconds}`
    if (!verdict.allowed) throw problems.tooManyRequests(verdict.resetSeconds)
  }
  return plugin.onRequest(({ request, server, set }) => {
    const verdict = counted.hit(clientOf ? clientOf(request, server) : (server?.requestIP(request)?.address ?? 'unknown'))
    // In memory the answer is there at once: no promise, no extra turn of the event loop.
    if (verdict instanceof Promise) return verdict.then((settled) => judge(settled, set.headers))
    judge(verdict, set.headers)
  })
}
