import postgres, { type PendingQuery, type Sql, type TransactionSql } from 'postgres'
import { queryStarted } from './observe'

/**
 * The database did not answer within the request's deadline: it is stalled, locked or out of
 * connections. Answered 503 like an unreachable database.
 */
export class DatabaseTimeout extends Error {
  /** For logs, like a driver error's code; code matches the class, not this. */
  readonly code = 'DEADLINE_EXCEEDED'

  constructor(ms: number) {
    super(`the database did not answer within ${ms} ms`)
    this.name = 'DatabaseTimeout'
  }
}

// Below this much time left, a second attempt could not finish anyway.
const MIN_RETRY_MS = 50
// Failures after which the statement had no effect and may simply run again: a stray cancel (see
// withDeadline), and the server aborting it to break a deadlock or a serialization conflict with
// another statement, which has gone on meanwhile.
const RUN_AGAIN = new Set(['57014', '40P01', '40001'])

/** One attempt: `query`, or a DatabaseTimeout after `ms`, when the query is cancelled. */
const attemptWithin = <Q extends PendingQuery<any>>(query: Q, ms: number, budget: number): Promise<Awaited<Q>> => {
  let timer: Timer | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      query.cancel()
      reject(new DatabaseTimeout(budget))
    }, ms)
  })
  // The cancelled query rejects too, after the race is decided: that rejection is expected.
  const running: Promise<Awaited<Q>> = query.then((rows) => rows)
  running.catch(() => {})
  return Promise.race([running, expired]).finally(() => clearTimeout(timer))
}

/**
 * Runs the query `start` makes, but gives up after `ms`: postgres.js has no pool-wait timeout,
 * and a stalled server can hold a query for ever. The query is cancelled (taken off the pool's
 * queue, or cancelled on the server) so that abandoned work does not pile up.
 *
 * A cancel that reaches the server after its query has finished stops whatever that connection
 * runs next (PostgreSQL cancels by connection, not by query): an innocent query then fails with
 * 57014. Such a statement had no effect, so it is run once more within what is left of `ms`; but
 * not `inTransaction`: there the cancel has aborted the transaction (or its savepoint), in which a
 * second try could only fail too. The 57014 is passed on (a 503). A statement the server aborted
 * to break a deadlock (40P01) or a serialization conflict (40001) is run again the same way.
 */
export const withDeadline = async <Q extends PendingQuery<any>>(start: () => Q, ms: number, { inTransaction = false } = {}): Promise<Awaited<Q>> => {
  const first = start()
  const retry = inTransaction ? undefined : start
  const ended = queryStarted(first)
  if (ended === undefined) return runWithin(first, retry, ms)
  try {
    const rows = await runWithin(first, retry, ms)
    ended()
    return rows
  } catch (error) {
    ended(error)
    throw error
  }
}

const runWithin = async <Q extends PendingQuery<any>>(first: Q, again: (() => Q) | undefined, ms: number): Promise<Awaited<Q>> => {
  const began = performance.now()
  try {
    return await attemptWithin(first, ms, ms)
  } catch (error) {
    const left = ms - (performance.now() - began)
    if (!again || !(error instanceof postgres.PostgresError && RUN_AGAIN.has(error.code)) || left < MIN_RETRY_MS) throw error
    return attemptWithin(again(), left, ms)
  }
}

type Then = Promise<unknown>['then']

/**
 * `tx`, whose tagged queries are reported to the observers (metrics, traces) as `withDeadline`'s
 * are. A query is reported when it runs, that is when it is first awaited: a query made only to be
 * a fragment of another is never awaited, and must not run on its own.
 */
const observed = (tx: TransactionSql): TransactionSql =>
  new Proxy(tx, {
    apply(target, self, args: unknown[]) {
      const made = Reflect.apply(target, self, args) as unknown
      const template = Array.isArray(args[0]) && 'raw' in args[0]
      if (!template) return made
      const query = made as PendingQuery<any> & { then: Then }
      const then: Then = query.then
      let reported = false
      query.then = function (this: typeof query, ...handlers: Parameters<Then>) {
        if (!reported) {
          reported = true
          const ended = queryStarted(query)
          if (ended) then.call(this, () => ended(), (error: unknown) => ended(error))
        }
        return then.apply(this, handlers)
      } as Then
      return query
    },
  })

/**
 * `sql.begin(body)`, given up after `ms` like `withDeadline`: waiting for a connection counts
 * against it, and a transaction that could not start in time never does.
 */
export const beginWithin = <T>(sql: Sql, ms: number, body: (tx: TransactionSql) => Promise<T>): Promise<T> => {
  let abandoned = false
  let timer: Timer | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abandoned = true
      reject(new DatabaseTimeout(ms))
    }, ms)
  })
  const run = sql.begin((tx) => (abandoned ? Promise.reject(new DatabaseTimeout(ms)) : body(observed(tx)))) as Promise<T>
  // Once the race is lost, the transaction's own failure is expected.
  run.catch(() => {})
  return Promise.race([run, expired]).finally(() => clearTimeout(timer))
}
