// Which errors mean "the database is away or too slow" (a 503 and a retry), and which do not (a 500).
import { describe, expect, test } from 'bun:test'
import postgres from 'postgres'
import { DatabaseTimeout } from '../../src/db/deadline'
import { isDatabaseUnavailable } from '../../src/db/errors'

const serverError = (code: string) => new postgres.PostgresError({ code, message: `server said ${code}` } as never)
const socketError = (code: string) => Object.assign(new Error(`socket: ${code}`), { code })

describe('isDatabaseUnavailable(error)', () => {
  // 40P01 and 40001: aborted for another statement's sake, twice (the first is run again): not now.
  test.each(['08000', '08006', '57P01', '57P02', '57P03', '53300', '57014', '40P01', '40001'])('SQLSTATE %s: unavailable (503)', (code) => {
    expect(isDatabaseUnavailable(serverError(code))).toBe(true)
  })

  test.each(['23505', '23514', '23503', '42P01', '42703', '53200'])('SQLSTATE %s: not unavailable (a bug or the client\'s fault)', (code) => {
    expect(isDatabaseUnavailable(serverError(code))).toBe(false)
  })

  test.each([
    'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT', 'ECONNREFUSED', 'ECONNRESET', 'ENOENT',
    'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH',
  ])('%s from the socket: unavailable (503)', (code) => {
    expect(isDatabaseUnavailable(socketError(code))).toBe(true)
  })

  test('a deadline: unavailable; anything else: not', () => {
    expect(isDatabaseUnavailable(new DatabaseTimeout(100))).toBe(true)
    expect(isDatabaseUnavailable(socketError('EACCES'))).toBe(false)
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false)
    expect(isDatabaseUnavailable(null)).toBe(false)
  })
})
