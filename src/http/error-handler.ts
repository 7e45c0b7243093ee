import { ParseError, ValidationError, type TSchema } from 'elysia'
import { isDatabaseUnavailable } from '../db/errors'
import type { Logger } from '../logger'
import { allowedMethods } from './allowed-methods'
import { Problem, problemResponse } from './problem'
import { fieldErrors, type UncheckedPart } from './validation-errors'

/** What a 503's `Retry-After` says. */
export const RETRY_AFTER_SECONDS = 5

/** A 503 telling the client when to retry. */
export const unavailable = (detail: string, extensions?: Record<string, unknown>) =>
  new Problem(503, detail, { headers: { 'retry-after': String(RETRY_AFTER_SECONDS) }, extensions })

interface RouteEntry {
  method: string
  path: string
  hooks?: { query?: unknown; body?: unknown }
}

interface ErrorContext {
  error: unknown
  request: Request
  path: string
  route?: string
  query?: unknown
  body?: unknown
  set: { headers: Record<string, unknown>; status?: number | string }
}

const isSchema = (value: unknown): value is TSchema => typeof value === 'object' && value !== null

// Elysia checks the path, then the query, then the body, and stops at the first that fails;
// the client is owed every violation, so the parts after a failed one are checked here.
const uncheckedParts = (error: ValidationError, context: ErrorContext, routes: readonly RouteEntry[]): UncheckedPart[] => {
  const route = routes.find((entry) => entry.method === context.request.method && entry.path === context.route)
  const later = { params: ['query', 'body'], query: ['body'] }[error.type as string] ?? []
  const parts: UncheckedPart[] = []
  for (const part of later as ('query' | 'body')[]) {
    const schema = route?.hooks?.[part]
    if (isSchema(schema)) parts.push({ schema, value: context[part] })
  }
  return parts
}

/** Any failure, as the contract's problem; undefined for an unexpected one. */
const toProblem = (context: ErrorContext, routes: readonly RouteEntry[]): Problem | undefined => {
  const { error, request } = context
  if (error instanceof ParseError && error.cause instanceof Problem) return error.cause
  if (error instanceof Problem) return error
  if (error instanceof ValidationError)
    return new Problem(422, 'The request does not fit the schema', { errors: fieldErrors(error, uncheckedParts(error, context, routes)) })
  if (error instanceof ParseError) return new Problem(400, 'The request body is not valid JSON')
  if ((error as { status?: unknown } | null)?.status === 404) {
    const allow = allowedMethods(routes, context.path)
    // Were the method among them, the router would have served it: then the path is not ours.
    return allow.length > 0 && !allow.includes(request.method)
      ? new Problem(405, `${request.method} is not allowed here`, { headers: { allow: allow.join(', ') } })
      : new Problem(404, 'No such resource')
  }
  if (isDatabaseUnavailable(error)) return unavailable('The database is unavailable; try again shortly')
}

const INTERNAL = new Problem(500, 'Something went wrong on our side; the request id identifies it in our logs')

/**
 * Elysia's `onError` for the whole app: the one place where errors become responses. Unexpected
 * errors are logged with the request id and answered with a generic 500 that says nothing of
 * their cause.
 */
export const handleErrors = (logger: Logger, routes: () => readonly RouteEntry[]) =>
  // Destructured on purpose: Elysia reads this parameter list to decide what to prepare for every
  // request, and a whole `context` makes it parse cookies and copy headers on each one (profiled:
  // about a fifth of the time of GET /).
  ({ error, request, path, route, query, body, set }: ErrorContext): Response => {
  const context: ErrorContext = { error, request, path, route, query, body, set }
  const requestId = String(context.set.headers['x-request-id'] ?? '')
  // What the request gathered so far (request id, security and CORS headers) goes on the error too.
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(context.set.headers)) if (typeof value === 'string') headers[name] = value
  const log = (message: string, error: unknown) => {
    const { name, message: text, stack } = error instanceof Error ? error : { name: 'Error', message: String(error), stack: undefined }
    logger.error(message, { request_id: requestId, error: { name, message: text, stack } })
  }
  let problem: Problem | undefined
  try {
    problem = toProblem(context, routes())
  } catch (failure) {
    log('error handler failed', failure)
  }
  // The request log reads the status from here.
  context.set.status = (problem ?? INTERNAL).status
  if (problem?.status === 503) logger.warn('database unavailable', { request_id: requestId, error: String(context.error) })
  if (!problem) log('unexpected error', context.error)
  return problemResponse(problem ?? INTERNAL, headers)
}
