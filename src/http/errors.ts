import { Elysia, NotFoundError, ParseError, ValidationError } from 'elysia'
import { isDatabaseUnavailable } from '../db/errors'
import { errorDetail } from '../error-message'
import type { Logger } from '../logger'
import { allowedMethods } from './allowed-methods'
import { parserError, validationFailure, type RouteEntry } from './elysia-internals'
import { Problem, madeFromRequest } from './problem'
import { problems } from './problems'
import { noteTemplate } from './route-label'
import { requestViolations, type UncheckedPart } from './validation-errors'

interface ErrorContext {
  error: unknown
  request: Request
  path: string
  route?: string
  query?: unknown
  body?: unknown
  set: { headers: Record<string, unknown>; status?: number | string }
}

// Elysia checks the path, then the query, then the body, and stops at the first that fails;
// the client is owed every violation, so the parts after a failed one are checked here.
const uncheckedParts = (part: string, context: ErrorContext, routes: readonly RouteEntry[]): UncheckedPart[] => {
  const route = routes.find((entry) => entry.method === context.request.method && entry.path === context.route)
  const later = ({ params: ['query', 'body'], query: ['body'] } as Record<string, ('query' | 'body')[]>)[part] ?? []
  return later.flatMap((name) => (route?.[name] ? [{ schema: route[name], value: context[name] }] : []))
}

/** Any failure, as the problem the client gets; undefined for an unexpected one. */
const toProblem = (context: ErrorContext, routes: readonly RouteEntry[]): Problem | undefined => {
  const { error, request } = context
  if (error instanceof Problem) return error
  if (error instanceof ParseError) {
    const cause = parserError(error)
    return cause instanceof Problem ? cause : problems.invalidJson()
  }
  if (error instanceof ValidationError) {
    const failure = validationFailure(error)
    const { status, errors } = requestViolations(failure, uncheckedParts(failure.part, context, routes))
    return madeFromRequest(status === 400 ? problems.businessRule(errors) : problems.invalidRequest(errors))
  }
  if (error instanceof NotFoundError) {
    const allow = allowedMethods(routes, context.path)
    // Were the method among them, the router would have served it: then the path is not ours.
    return allow.length > 0 && !allow.includes(request.method) ? problems.methodNotAllowed(request.method, allow) : problems.routeNotFound()
  }
  if (isDatabaseUnavailable(error)) return problems.databaseUnavailable()
}

/** The response for `problem`, with the headers the request gathered so far (request id, security, CORS). */
export const problemResponse = (problem: Problem, gathered: Record<string, unknown>) => {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(gathered)) if (typeof value === 'string') headers[name] = value
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { ...headers, ...problem.headers, 'content-type': 'application/problem+json' },
  })
}

/** A request refused by its schema: the route it reached and its parsed body. */
export interface RefusedRequest {
  route?: string
  path: string
  body: unknown
}

/**
 * A second look at a request refused by its schema (a 400 or 422 after parsing): the problem to
 * send, e.g. with the faults the schema cannot see, or the one kept for its `Idempotency-Key`.
 */
export type BodyRejection = (request: Request, problem: Problem, refused: RefusedRequest) => Promise<Problem>

/**
 * The one place where errors become responses: every error of the app, as its problem+json.
 * Unexpected errors are logged with the request id and answered with a generic 500 that says
 * nothing of their cause. `routes` gives the app's route table (405's `Allow`, and the schemas of
 * parts Elysia did not check).
 */
export const problemResponses = ({
  logger,
  routes,
  tokenFirst,
  bodyRejected,
  fields,
}: {
  logger: Logger
  routes: () => readonly RouteEntry[]
  /** A first look at any problem: the one to send instead (e.g. a 401 for a token no longer valid), or the same. */
  tokenFirst?: (request: Request, problem: Problem) => Promise<Problem>
  bodyRejected?: BodyRejection
  /** What each line adds about the request (a trace's ids), as the request log does. */
  fields?: (request: Request) => Record<string, string> | undefined
}) =>
  new Elysia({ name: 'problem-responses' }).onError(
    { as: 'global' },
    // Destructured on purpose: Elysia reads this parameter list to decide what to prepare for every
    // request, and a whole `context` makes it parse cookies and copy headers on each one (profiled:
    // about a fifth of the time of GET /).
    async ({ error, request, path, route, query, body, set }: ErrorContext): Promise<Response> => {
      const context: ErrorContext = { error, request, path, route, query, body, set }
      const about = { request_id: String(set.headers['x-request-id'] ?? ''), ...fields?.(request) }
      const log = (message: string, failure: unknown) => logger.error(message, { ...about, error: errorDetail(failure) })
      let failure = error
      let problem: Problem | undefined
      try {
        const table = routes()
        problem = toProblem(context, table)
        // Answered before routing (or by a catch-all): labelled with the template all the same,
        // unless the answer is that no route serves the path (a 404 before routing, e.g. `/users/me`
        // without access control).
        if ((!route || route === '/*') && problem?.status !== 404) noteTemplate(request, table)
        // A look that fails answers as its failure would (503 for the database).
        const lookAgain = (look: () => Promise<Problem>) =>
          look().catch((rejection: unknown) => {
            failure = rejection
            return toProblem({ ...context, error: rejection }, table)
          })
        const made = problem
        if (made && tokenFirst) problem = await lookAgain(() => tokenFirst(request, made))
        if (problem && problem === made && bodyRejected && error instanceof ValidationError) {
          const refused: Problem = problem
          problem = await lookAgain(() => bodyRejected(request, refused, { route, path, body }))
        }
      } catch (handlerFailure) {
        log('error handler failed', handlerFailure)
      }
      if (problem?.status === 503) logger.warn('database unavailable', { ...about, error: String(failure) })
      if (!problem) log('unexpected error', failure)
      const answer = problem ?? problems.internal()
      // The request log and the metrics read the status and headers from here.
      set.status = answer.status
      Object.assign(set.headers, answer.headers)
      return problemResponse(answer, set.headers)
    },
  )
