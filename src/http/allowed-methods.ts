interface RouteEntry {
  method: string
  path: string
}

// Elysia also serves a route's path with one trailing slash; `/` itself is not `//`.
const patternOf = (path: string) =>
  new RegExp(`^${path.replace(/\/$/, '').replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+').replace(/\*/g, '.*')}/?$`)

/**
 * The methods the app serves on `pathname`, for a 405's `Allow` header; empty when no route
 * matches the path at all (a 404).
 */
export const allowedMethods = (routes: readonly RouteEntry[], pathname: string): string[] => {
  const methods = new Set<string>()
  // CORS preflight (OPTIONS on every path, when enabled) is not a method of the resource.
  for (const route of routes)
    if (route.method !== 'ALL' && route.method !== 'OPTIONS' && patternOf(route.path).test(pathname)) methods.add(route.method)
  // Bun answers HEAD for every GET route.
  if (methods.has('GET')) methods.add('HEAD')
  return [...methods].sort()
}
