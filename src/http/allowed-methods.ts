interface RouteEntry {
  method: string
  path: string
}

// Elysia also serves a route's path with one trailing slash; `/` itself is not `//`. Compiled once
// per path: a scanner's 404s ask again and again.
const patterns = new Map<string, RegExp>()
const patternOf = (path: string) => {
  let pattern = patterns.get(path)
  if (!pattern)
    patterns.set(
      path,
      (pattern = new RegExp(`^${path.replace(/\/$/, '').replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+').replace(/\*/g, '.*')}/?$`)),
    )
  return pattern
}

// CORS preflight (OPTIONS on every path, when enabled) is not a method of the resource.
const servesResource = (route: RouteEntry) => route.method !== 'ALL' && route.method !== 'OPTIONS'

/**
 * The methods the app serves on `pathname`, for a 405's `Allow` header; empty when no route
 * matches the path at all (a 404).
 */
export const allowedMethods = (routes: readonly RouteEntry[], pathname: string): string[] => {
  const methods = new Set<string>()
  for (const route of routes) if (servesResource(route) && patternOf(route.path).test(pathname)) methods.add(route.method)
  // Bun answers HEAD for every GET route.
  if (methods.has('GET')) methods.add('HEAD')
  return [...methods].sort()
}

/**
 * The template of the route that serves `pathname` (`/users/:id` for `/users/5`), as the router
 * would choose it: the route of `method` before the others, a path without parameters before one
 * with them (`/users/me` before `/users/:id`). Undefined when no route serves the path.
 */
export const templateOf = (routes: readonly RouteEntry[], method: string, pathname: string): string | undefined => {
  const asked = method === 'HEAD' ? 'GET' : method
  const rank = (route: RouteEntry) => (route.method === asked ? 0 : 2) + (/[:*]/.test(route.path) ? 1 : 0)
  let best: RouteEntry | undefined
  for (const route of routes)
    if (servesResource(route) && patternOf(route.path).test(pathname) && (best === undefined || rank(route) < rank(best))) best = route
  return best?.path
}
