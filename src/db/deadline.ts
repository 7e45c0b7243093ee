import type { PendingQuery } from 'postgres'

/**
 * The database did not answer within the request's deadline: it is stalled, locked or out of
 * connections. Answered 503 like an unreachable database.
 */
export class DatabaseTimeout extends Error {
  readonly code = 'DEADLINE_EXCEEDED'

  constructor(ms: number) {
    super(`the database did not answer within ${ms} ms`)
    this.name = 'DatabaseTimeout'
  }
}

/**
 * Runs `query` but gives up after `ms`: postgres.js has no pool-wait timeout, and a stalled
 * server can hold a query for ever. The query is cancelled (taken off the pool's queue, or
 * cancelled on the server) so that abandoned work does not pile up.
 */
export const withDeadline = <Q extends PendingQuery<any>>(query: Q, ms: number): Promise<Awaited<Q>> => {
  let timer: Timer | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      query.cancel()
      reject(new DatabaseTimeout(ms))
    }, ms)
  })
  // The cancelled query rejects too, after the race is decided: that rejection is expected.
  const running: Promise<Awaited<Q>> = query.then((rows) => rows)
  running.catch(() => {})
  return Promise.race([running, expired]).finally(() => clearTimeout(timer))
}
