/**
 * Who may do what, in one place. The guard runs when a request arrives, before its body is read
 * or validated, so the order is always 401 (the token) → 403 (who may make this call on whom,
 * from the token alone, no database) → 400/413/415/422 (the request). What needs the data (the
 * caller still exists with the token's version) is checked by the statement that does the work.
 */
import { Elysia } from 'elysia'
import type { ServiceState } from '../http/health'
import { problems } from '../http/problems'
import { pathOf } from '../http/request-path'
import { userIdIn } from '../users/schemas'
import type { Caller, Tokens } from './tokens'

const callers = new WeakMap<Request, Caller>()

/** The caller the guard let through for `request`; undefined without a token (or without access control). */
export const callerOf = (request: Request): Caller | undefined => callers.get(request)

const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+) *$/i
const BEARER_PREFIX = 'Bearer '
// The bearer scheme with something after it: `Bearer` alone (what the docs page sends before a
// log-in) carries no token, like another scheme.
const BEARER_WITH_TOKEN = /^Bearer[ \t]+\S/i

// A client sends the same header again and again: the usual `Bearer <token>` of a token verified
// before is found without the pattern (and without a promise).
const knownCaller = (header: string, tokens: Tokens) =>
  header.startsWith(BEARER_PREFIX) ? tokens.known(header.slice(BEARER_PREFIX.length)) : undefined

const verifiedCaller = async (header: string, tokens: Tokens) => {
  const token = BEARER.exec(header)?.[1]
  return token === undefined ? undefined : tokens.verify(token)
}

/**
 * The users API's paths: the collection, or one user (`me` is the caller). Undefined: not guarded;
 * any other path is an unknown route (404), and the users routes refuse a request that reaches
 * them without a caller all the same.
 */
const targetOf = (path: string): { id?: string } | undefined => {
  if (path === '/users' || path === '/users/') return {}
  const match = /^\/users\/([^/]+)\/?$/.exec(path)
  return match ? { id: match[1]! } : undefined
}

// A user's own record spelled otherwise (`/users/03`, `/users/%33`) is theirs too.
const isOwn = (segment: string | undefined, id: number) =>
  segment === 'me' || segment === String(id) || (segment !== undefined && userIdIn(segment) === id)

/**
 * `accessGuard({ tokens, signupOpen, state })`: the users API needs a bearer token: an admin may do
 * anything; a user may read, change (not their role) and delete their own record; with
 * `signupOpen`, anyone may create a `user` without a token. A token not seen before is checked
 * once the migrations have run (the generated key is in a table): 503 until then.
 */
export const accessGuard = ({ tokens, signupOpen, state }: { tokens: Tokens; signupOpen: boolean; state: ServiceState }) =>
  new Elysia({ name: 'access-guard' }).onRequest(async ({ request }) => {
    // A CORS preflight carries no credentials by design: the CORS plugin answers it.
    if (request.method === 'OPTIONS') return
    const target = targetOf(pathOf(request.url))
    if (!target) return
    const header = request.headers.get('authorization')
    if (header === null) {
      if (target.id === undefined && request.method === 'POST' && signupOpen) return
      throw problems.unauthorized('missing')
    }
    let caller = knownCaller(header, tokens)
    if (!caller) {
      // Credentials of another scheme (Basic, …), or none, are no bearer token: a 401 without an error code (RFC 6750 §3.1).
      if (!BEARER_WITH_TOKEN.test(header)) throw problems.unauthorized('missing')
      if (!state.migrated) throw problems.notMigrated()
      caller = await verifiedCaller(header, tokens)
    }
    if (!caller) throw problems.unauthorized('invalid')
    if (caller.role !== 'admin' && !isOwn(target.id, caller.id)) throw problems.forbidden()
    callers.set(request, caller)
  })
