import { ParseError, ValidationError } from 'elysia'
import { isDatabaseUnavailable } from '../db/errors'
import type { Logger } from '../logger'
import { allowedMethods } from './allowed-methods'
import { Problem, problemResponse } from './problem'
import { fieldErrors } from './validation-errors'

/** What a 503's `Retry-After` says. */
export const RETRY_AFTER_SECONDS = 5

/** A 503 telling the client when to retry. */
export const unavailable = (detail: string, extensions?: Record<string, unknown>) =>
  new Problem(503, detail, { headers: { 'retry-after': String(RETRY_AFTER_SECONDS) }, extensions })

interface ErrorContext {
  error: unknown
  request: Request
  set: { headers: Record<string, unknown> }
}

/** Any failure, as the contract's problem: the one place where errors become responses. */
const toProblem = (error: unknown, request: Request, routes: () => readonly { method: string; path: string }[]): Problem | undefined => {
  if (error instanceof ParseError && error.cause instanceof Problem) return error.cause
  if (error instanceof Problem) return error
  if (error instanceof ValidationError) return new Problem(422, 'The request does not fit the schema', { errors: fieldErrors(error) })
  if (error instanceof ParseError) return new Problem(400, 'The request body is not valid JSON')
  const status = (error as { status?: unknown } | null)?.status
  if (status === 404) {
    const allow = allowedMethods(routes(), new URL(request.url).pathname)
    // Were the method among them, the router would have served it: then the path is not ours.
    return allow.length > 0 && !allow.includes(request.method)
      ? new Problem(405, `${request.method} is not allowed here`, { headers: { allow: allow.join(', ') } })
      : new Problem(404, 'No such resource')
  }
  if (isDatabaseUnavailable(error))
    return unavailable('The database is unavailable; try again shortly')
}

/**
 * Elysia's `onError` for the whole app. Unexpected errors are logged with the request id and
 * answered with a generic 500 that says nothing of their cause.
 */
export const handleErrors =
  (logger: Logger, routes: () => readonly { method: string; path: string }[]) =>
  ({ error, request, set }: ErrorContext): Response => {
    const requestId = String(set.headers['x-request-id'] ?? '')
    const headers = { 'x-request-id': requestId }
    const problem = toProblem(error, request, routes)
    if (problem) {
      if (problem.status === 503) logger.warn('database unavailable', { request_id: requestId, error: String(error) })
      return problemResponse(problem, headers)
    }
    const { name, message, stack } = error instanceof Error ? error : { name: 'Error', message: String(error), stack: undefined }
    logger.error('unexpected error', { request_id: requestId, error: { name, message, stack } })
    return problemResponse(new Problem(500, 'Something went wrong on our side; the request id identifies it in our logs'), headers)
  }
