/**
 * One limit for a process group. Each worker decides alone and tells the primary what it let
 * through in batches; the primary adds the batches up and answers every worker with the group's
 * new total. A worker lets at most one batch of a client through that the primary has not counted
 * yet (as far as its answers show): past that, the client's next request waits for the answer
 * (about a millisecond). So a client gets at least `limit` requests through in a window and at
 * most `limit + workers × batch`, however fast its requests come. A primary that leaves a request
 * waiting `ANSWER_WAIT_MS` is not waited for again until it answers: meanwhile each worker lets a
 * client through up to its share of the limit (`limit / workers`), which keeps the sum within it.
 */
import { verdict, windowAt, windowCounters, type Limit, type RateLimitStore, type Verdict } from './window'

/** A worker's report: `count` more requests of `client` in window `index`, its `seq`-th report. */
export interface RateLimitReport {
  kind: 'rate-limit/report'
  index: number
  client: string
  count: number
  worker: number
  seq: number
}

/** The primary's answer: the group's total for `client` in window `index`, once report `seq` of `worker` is in. */
export interface RateLimitTotal {
  kind: 'rate-limit/total'
  index: number
  client: string
  total: number
  worker: number
  seq: number
}

/** Requests a worker lets through before it reports: a tenth of a worker's share, at least 1. */
export const reportBatch = (limit: number, workers: number) => Math.max(1, Math.floor(limit / (10 * workers)))

/** The longest a request waits for the primary's answer; past it, no request waits until one comes. */
const ANSWER_WAIT_MS = 100

interface Seen {
  /** The group's total as the primary last told it. */
  known: number
  /** Let through, not reported yet. */
  unreported: number
  /** Reported, and not yet in a total the primary sent in answer to this worker's reports. */
  outstanding: { seq: number; count: number }[]
  /** Let through by this worker in this window. */
  own: number
}

/** A worker's store: `send` carries reports to the primary; feed its answers to `receive`. */
export const groupWorkerStore = (
  { limit, windowSeconds, batch, worker = 0, workers = 1 }: Limit & { batch: number; worker?: number; workers?: number },
  send: (report: RateLimitReport) => void,
  now = Date.now,
) => {
  const counters = windowCounters<Seen>()
  let currentIndex = -1
  let seq = 0
  // The primary let a request wait out ANSWER_WAIT_MS: until it answers again, this worker decides
  // alone, within its share of the limit (so the workers together stay within it).
  let silent = false
  const share = Math.ceil(limit / workers)
  // Answers come in; requests waiting for one decide again at each (and when a new window starts,
  // where nothing of the last one counts: the primary does not answer its late reports).
  let answers = 0
  let waiting: (() => void)[] = []
  const wake = () => {
    const woken = waiting
    waiting = []
    for (const again of woken) again()
  }
  const entryOf = (index: number, client: string) => {
    if (index !== currentIndex && waiting.length > 0) queueMicrotask(wake)
    currentIndex = index
    const clients = counters.of(index)
    let entry = clients.get(client)
    if (!entry) clients.set(client, (entry = { known: 0, unreported: 0, outstanding: [], own: 0 }))
    return entry
  }
  const sum = (reports: Seen['outstanding']) => reports.reduce((total, report) => total + report.count, 0)

  /** The verdict on a request of `client` now; undefined: wait for the primary's answer. */
  const decide = (client: string): Verdict | undefined => {
    const { index, resetSeconds } = windowAt(now(), windowSeconds)
    const entry = entryOf(index, client)
    const pending = entry.unreported + sum(entry.outstanding)
    // A report may be counted twice here (in `known` through another worker's answer): refused only once none is out.
    const counted = entry.known + pending
    const refused = silent ? counted >= limit || entry.own >= share : counted >= limit && entry.outstanding.length === 0
    if (refused) return verdict(limit + 1, limit, resetSeconds)
    if (!silent && (counted >= limit || pending >= batch)) return undefined
    entry.own += 1
    entry.unreported += 1
    if (entry.unreported >= batch) {
      seq += 1
      const report: RateLimitReport = { kind: 'rate-limit/report', index, client, count: entry.unreported, worker, seq }
      entry.outstanding.push({ seq, count: entry.unreported })
      entry.unreported = 0
      // Last: an answer may come back within `send` (in tests, where nothing is between the two).
      send(report)
    }
    return verdict(counted + 1, limit, resetSeconds)
  }

  const store: RateLimitStore & { receive(total: RateLimitTotal): void } = {
    hit(client) {
      const immediate = decide(client)
      if (immediate) return immediate
      return new Promise<Verdict>((resolve) => {
        let settled = false
        const settle = (decided: Verdict) => {
          settled = true
          clearTimeout(timer)
          resolve(decided)
        }
        const again = () => {
          if (settled) return
          const decided = decide(client)
          if (decided) settle(decided)
          else waiting.push(again)
        }
        // Silent: no answer at all (about any client) while this request waited.
        const answersBefore = answers
        const timer = setTimeout(() => {
          if (answers === answersBefore) silent = true
          again()
        }, ANSWER_WAIT_MS)
        waiting.push(again)
      })
    },
    receive(total) {
      silent = false
      answers += 1
      if (total.index === currentIndex) {
        const entry = entryOf(total.index, total.client)
        entry.known = Math.max(entry.known, total.total)
        if (total.worker === worker) entry.outstanding = entry.outstanding.filter((report) => report.seq > total.seq)
      }
      wake()
    },
  }
  return store
}

/** The primary's side: adds up reports; the new total is for every worker. */
export const groupTotals = () => {
  const counters = windowCounters()
  let latest = -1
  return ({ index, client, count, worker, seq }: RateLimitReport): RateLimitTotal | undefined => {
    // A report from a window that has ended is of no use to anyone.
    if (index < latest) return undefined
    latest = index
    const totals = counters.of(index)
    const total = (totals.get(client) ?? 0) + count
    totals.set(client, total)
    return { kind: 'rate-limit/total', index, client, total, worker, seq }
  }
}
