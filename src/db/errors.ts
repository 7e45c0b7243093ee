import postgres from 'postgres'
import { DatabaseTimeout } from './deadline'

/** A unique index or constraint named `constraint` refused the write. */
export const isUniqueViolation = (error: unknown, constraint: string): boolean =>
  error instanceof postgres.PostgresError && error.code === '23505' && error.constraint_name === constraint

// Errors postgres.js raises itself or passes on from the socket when the server cannot be used.
const CONNECTION_ERRORS = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOENT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
])
// SQLSTATEs that mean "not now" rather than "wrong": connection exceptions (08), shutdown or
// start-up (57P0x), too many connections (53300), a statement cancelled by statement_timeout (57014),
// one aborted for a deadlock or a serialization conflict with another (40P01, 40001) that a second
// try did not get past.
const UNAVAILABLE_SQLSTATE = /^(08|57P0|53300|57014|40P01|40001)/

/** The database is unreachable or too slow: worth a 503 and a retry, not a client's fault. */
export const isDatabaseUnavailable = (error: unknown): boolean => {
  if (error instanceof DatabaseTimeout) return true
  if (error instanceof postgres.PostgresError) return UNAVAILABLE_SQLSTATE.test(error.code)
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && CONNECTION_ERRORS.has(code)
}
