import postgres from 'postgres'
import { DatabaseTimeout } from '../db/deadline'
import { isDatabaseUnavailable } from '../db/errors'
import type { QueryObserver } from '../db/observe'
import type { ServiceMetrics } from './registry'

/** Why a query failed, in the few words an operator acts on. */
const errorKind = (error: unknown) => {
  if (error instanceof DatabaseTimeout) return 'timeout'
  if (isDatabaseUnavailable(error)) return 'unavailable'
  // SQLSTATE class 23: integrity constraint violation (a taken email, for one).
  if (error instanceof postgres.PostgresError && error.code.startsWith('23')) return 'constraint'
  return 'other'
}

/**
 * A query observer that times queries and counts their failures, and counts the queries under way
 * to tell the pool's busy connections from the queries waiting for one (postgres.js exposes no
 * pool figures): of `active` queries, at most `poolMax` hold a connection, the rest wait.
 */
export const databaseMetrics = (metrics: ServiceMetrics, poolMax: number): QueryObserver => {
  let active = 0
  metrics.readers.pool = () => ({ busy: Math.min(active, poolMax), waiting: Math.max(0, active - poolMax) })
  return (operation) => {
    active++
    const began = performance.now()
    return (error) => {
      active--
      metrics.queryDuration.labels(operation).observe((performance.now() - began) / 1000)
      if (error !== undefined) metrics.queryErrors.labels(operation, errorKind(error)).inc()
    }
  }
}
