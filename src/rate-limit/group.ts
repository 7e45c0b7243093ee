/**
 * One limit for a process group. Each worker decides alone, at once, and tells the primary what it
 * let through in batches; the primary adds the batches up and tells every worker the group's new
 * total (a worker told only its own totals could overshoot by the others' batches unseen since its
 * last report). A worker never waits for the primary: it
 * refuses once the total it knows plus what it has not reported yet reaches the limit. So a client
 * gets at least `limit` requests through in a window and at most `limit + workers × batch`.
 */
import { verdict, windowAt, windowCounters, type Limit, type MemoryStore } from './window'

/** A worker's report: `count` more requests of `client` in window `index`. */
export interface RateLimitReport {
  kind: 'rate-limit/report'
  index: number
  client: string
  count: number
}

/** The primary's answer: the group's total for `client` in window `index`. */
export interface RateLimitTotal {
  kind: 'rate-limit/total'
  index: number
  client: string
  total: number
}

/** Requests a worker lets through before it reports: a tenth of a worker's share, at least 1. */
export const reportBatch = (limit: number, workers: number) => Math.max(1, Math.floor(limit / (10 * workers)))

interface Seen {
  /** The group's total as the primary last told it, plus what this worker has reported since. */
  known: number
  unreported: number
}

/** A worker's store: `send` carries reports to the primary; feed its answers to `receive`. */
export const groupWorkerStore = ({ limit, windowSeconds, batch }: Limit & { batch: number }, send: (report: RateLimitReport) => void, now = Date.now) => {
  const counters = windowCounters<Seen>()
  let currentIndex = -1
  const seen = (index: number) => {
    currentIndex = index
    return counters.of(index)
  }
  const store: MemoryStore & { receive(total: RateLimitTotal): void } = {
    hit(client) {
      const { index, resetSeconds } = windowAt(now(), windowSeconds)
      const clients = seen(index)
      let entry = clients.get(client)
      if (!entry) clients.set(client, (entry = { known: 0, unreported: 0 }))
      if (entry.known + entry.unreported >= limit) return verdict(limit + 1, limit, resetSeconds)
      entry.unreported += 1
      const counted = entry.known + entry.unreported
      if (entry.unreported >= batch) {
        send({ kind: 'rate-limit/report', index, client, count: entry.unreported })
        entry.known += entry.unreported
        entry.unreported = 0
      }
      return verdict(counted, limit, resetSeconds)
    },
    receive({ index, client, total }) {
      if (index !== currentIndex) return
      const entry = seen(index).get(client)
      if (entry) entry.known = Math.max(entry.known, total)
      else seen(index).set(client, { known: total, unreported: 0 })
    },
  }
  return store
}

/** The primary's side: adds up reports; the new total is for every worker. */
export const groupTotals = () => {
  const counters = windowCounters()
  let latest = -1
  return (report: RateLimitReport): RateLimitTotal | undefined => {
    // A report from a window that has ended is of no use to anyone.
    if (report.index < latest) return undefined
    latest = report.index
    const totals = counters.of(report.index)
    const total = (totals.get(report.client) ?? 0) + report.count
    totals.set(report.client, total)
    return { kind: 'rate-limit/total', index: report.index, client: report.client, total }
  }
}
