/**
 * Rate limiting counts requests per client in fixed windows aligned to the clock (window n covers
 * [n × w, (n + 1) × w)), so every worker and every instance agrees on which window a request is in
 * without talking to the others.
 */

/** What a store says about one request. */
export interface Verdict {
  allowed: boolean
  /** Requests the client has left in this window (after this one). */
  remaining: number
  /** Seconds until the window ends (at least 1). */
  resetSeconds: number
}

/** Counts a request of `client`; a store may answer synchronously (in memory) or not (Redis). */
export interface RateLimitStore {
  hit(client: string): Verdict | Promise<Verdict>
  close?(): Promise<void>
}

/** A store that counts in this process's memory: it answers at once. */
export interface MemoryStore extends RateLimitStore {
  hit(client: string): Verdict
}

export interface Limit {
  limit: number
  windowSeconds: number
}

/** The window `now` falls in, and the seconds until it ends. */
export const windowAt = (now: number, windowSeconds: number) => {
  const windowMs = windowSeconds * 1000
  const index = Math.floor(now / windowMs)
  return { index, resetSeconds: Math.max(1, Math.ceil(((index + 1) * windowMs - now) / 1000)) }
}

/** The verdict on the `count`-th request of a window. */
export const verdict = (count: number, limit: number, resetSeconds: number): Verdict => ({
  allowed: count <= limit,
  remaining: Math.max(0, limit - count),
  resetSeconds,
})

/**
 * Counters for the current window only: a new window starts them all from zero, so memory stays
 * bounded by the clients of one window.
 */
export const windowCounters = <V = number>() => {
  let current = -1
  let counts = new Map<string, V>()
  return {
    /** The map of counts for `index`, emptied when `index` is a new window. */
    of(index: number) {
      if (index !== current) {
        current = index
        counts = new Map()
      }
      return counts
    },
  }
}

/** One process counting alone: exact. */
export const localStore = ({ limit, windowSeconds }: Limit, now = Date.now): MemoryStore => {
  const counters = windowCounters()
  return {
    hit(client) {
      const { index, resetSeconds } = windowAt(now(), windowSeconds)
      const counts = counters.of(index)
      const count = (counts.get(client) ?? 0) + 1
      counts.set(client, count)
      return verdict(count, limit, resetSeconds)
    },
  }
}
