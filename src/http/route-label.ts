/**
 * The route a request is labelled with in logs, metrics and traces: its template (`/users/:id`),
 * also when it was answered before routing (a 401 or 403 of the access guard, a 429 of the rate
 * limit) or by the catch-all CORS preflight; `unmatched` only when no route serves its path. The
 * path itself is the client's text (it may hold an email, and a scanner sends endless ones): it is
 * never a label.
 */
import { templateOf } from './allowed-methods'
import type { RouteEntry } from './elysia-internals'
import { pathOf } from './request-path'

/** What a request no route serves is labelled with (a 404). */
export const UNMATCHED_ROUTE = 'unmatched'

const answeredAs = new WeakMap<Request, string>()

/**
 * Notes the template of `request`'s path among `routes`, for a request answered without the router's
 * choice (by the error handler before routing, or by a catch-all route): see `routeLabel`.
 */
export const noteTemplate = (request: Request, routes: readonly RouteEntry[]) => {
  const template = templateOf(routes, request.method, pathOf(request.url))
  if (template !== undefined) answeredAs.set(request, template)
}

/** The label of `request`, which Elysia says was routed to `route` (none before routing). */
export const routeLabel = (request: Request, route: string | undefined) =>
  (route && route !== '/*' ? route : answeredAs.get(request)) ?? UNMATCHED_ROUTE
