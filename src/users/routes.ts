import { Elysia } from 'elysia'
import type { AccountRules } from '../auth/accounts'
import { callerOf } from '../auth/guard'
import type { ClientAddress } from '../http/client-address'
import { entityTag, ifMatchVersions, ifNoneMatchVersions, namesVersion } from '../http/conditional'
import { requireMigrated, type ServiceState } from '../http/health'
import { idempotencyKeyOf, readIdempotencyKey } from '../http/idempotency-key'
import { problems } from '../http/problems'
import { strictQueryEncoding } from '../http/query-encoding'
import { keptProblem, type IdempotentCreate } from './idempotency'
import { preconditionRefusal } from './preconditions'
import { usersDocs } from './route-docs'
import { CreateUserBody, ListUsersQuery, UpdateUserBody, User, UserIdParams, type ListUsersFilters, type UpdateUserInput } from './schemas'
import type { UserService, VersionedUser } from './service'

/** The schemas the routes reference by name, for the document's `components`. */
export const userSchemas = { User }
/** What a body refused by its schema is answered with (the app's error handler asks). */
export { withAccountFaults } from './account-faults'

const FILTERS = ['limit', 'email', 'name', 'min_age', 'max_age'] as const
const ME_URL = /^[a-z]+:\/\/[^/?#]*\/users\/me\/?(?:[?#]|$)/i

/**
 * The next page's URL: the filters and limit this request used, in its order, as the service
 * understood them (unknown and repeated parameters are left out), `after` the last id of this page.
 */
const nextPageLink = (url: string, filters: ListUsersFilters, after: number) => {
  // Only the query string is read: with a broken Host header the rest of the URL does not parse.
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1).split('#', 1)[0] : ''
  const next = new URLSearchParams()
  for (const key of new URLSearchParams(query).keys()) {
    const value = (FILTERS as readonly string[]).includes(key) ? filters[key as (typeof FILTERS)[number]] : undefined
    if (value !== undefined) next.set(key, String(value))
  }
  next.set('after', String(after))
  return `</users?${next}>; rel="next"`
}

export interface UsersRoutesOptions {
  users: UserService
  idempotent: IdempotentCreate
  accounts: AccountRules
  state: ServiceState
  /** Access control on: `/users/me` exists and operations are documented as secured. */
  auth: boolean
  /** Anyone may create a `user` without a token: `POST /users` documents its token as optional. */
  signupOpen?: boolean
  /** PATCH and DELETE need `If-Match` (428 without). */
  requireIfMatch?: boolean
  clientOf: ClientAddress
}

type Headers = Record<string, unknown>

/**
 * `/users`: validation and HTTP shape here, who may call what in `../auth/guard` (which has run
 * before any of this), the field rules that depend on the caller in `../auth/accounts`, the rules
 * that need the data in the service. Every route uses the tables, so each answers 503 until the
 * migrations have run.
 */
export const usersRoutes = ({ users, idempotent, accounts, state, auth, clientOf, signupOpen = false, requireIfMatch = false }: UsersRoutesOptions) => {
  const docs = usersDocs({ auth, signupOpen })
  // The guard has let the request through; under access control, only a sign-up comes without a
  // caller (defence in depth: a path the guard did not know is refused here too).
  const callerFor = (request: Request, signup = false) => {
    const caller = callerOf(request)
    if (auth && !caller && !(signup && signupOpen)) throw problems.unauthorized('missing')
    return caller
  }
  // `/users/me` is the caller's own record; without access control there is no caller: 404.
  const meOf = (request: Request) => {
    if (!auth) throw problems.routeNotFound()
    return callerFor(request)!.id
  }
  // A single user's representation: its ETag, private to the caller (and per token on `/me`).
  const represent = ({ user, version }: VersionedUser, headers: Headers, me = false) => {
    headers.etag = entityTag(user.id, version)
    headers['cache-control'] = 'private'
    // Added to what is there (CORS varies by Origin): a cache must key on both.
    if (me) headers.vary = headers.vary ? `${headers.vary}, Authorization` : 'Authorization'
    return user
  }
  const conditionOf = (id: number, request: Request) => ({
    ifMatch: ifMatchVersions(request.headers.get('if-match'), id),
    ifNoneMatch: ifNoneMatchVersions(request.headers.get('if-none-match'), id),
    required: requireIfMatch,
  })
  // RFC 9110 §13.2.2: `If-Match` first (412 unless it names the current version, as for a change),
  // then `If-None-Match` (undefined when it names it: a 304).
  const read = async (id: number, request: Request, headers: Headers, me = false) => {
    const found = await users.get(id, callerFor(request))
    const ifMatch = ifMatchVersions(request.headers.get('if-match'), id)
    const refused = ifMatch === undefined ? undefined : preconditionRefusal({ ifMatch }, found.version)
    if (refused) throw refused
    const user = represent(found, headers, me)
    const ifNoneMatch = ifNoneMatchVersions(request.headers.get('if-none-match'), id)
    return ifNoneMatch !== undefined && namesVersion(ifNoneMatch, found.version) ? undefined : user
  }
  const update = async (id: number, body: UpdateUserInput, request: Request, server: Parameters<ClientAddress>[1], headers: Headers, me = false) => {
    const caller = callerFor(request)
    const condition = conditionOf(id, request)
    const changes = await accounts.forUpdate(id, body, caller, clientOf(request, server), condition)
    return represent(await users.update(id, changes, caller, condition), headers, me)
  }
  const remove = async (id: number, request: Request, set: { status?: number | string }) => {
    await users.remove(id, callerFor(request), conditionOf(id, request))
    set.status = 204
  }
  const routes = new Elysia({ name: 'users', prefix: '/users' })
  // Without access control `/users/me` is no route (its handlers stay for the types): 404 before
  // its body is read, whatever that body is.
  if (!auth)
    routes.onRequest(({ request }) => {
      // A substring test first: this runs on every request.
      if (request.url.includes('/users/me') && ME_URL.test(request.url)) throw problems.routeNotFound()
    })
  return routes
    .onBeforeHandle(requireMigrated(state))
    .post(
      '',
      async ({ body, request, set }) => {
        const caller = callerFor(request, true)
        const key = idempotencyKeyOf(request)
        set.status = 201
        if (!key) {
          const created = await users.create(await accounts.forCreate(body, caller), caller)
          set.headers.location = `/users/${created.user.id}`
          return represent(created, set.headers)
        }
        const started = await idempotent.start(key, caller)
        // A weak or missing password (422) is an answer about the body: kept under the key like a schema's.
        const { answer, replayed } = 'answer' in started ? started : await idempotent.create(started, () => accounts.forCreate(body, caller), caller)
        if (answer.status !== 201) throw keptProblem(answer, replayed)
        if (replayed) set.headers['idempotent-replayed'] = 'true'
        Object.assign(set.headers, { location: answer.location, etag: answer.etag, 'cache-control': 'private' })
        return JSON.parse(answer.body) as User
      },
      {
        parse: 'json',
        // A malformed key is a 422 that lists the body's faults too, the password rules' among them.
        transform: ({ request, body }) => readIdempotencyKey(request, body, CreateUserBody, (sent, described) => accounts.faultsBeside(sent, undefined, callerOf(request), described)),
        body: CreateUserBody,
        detail: docs.create,
      },
    )
    .get(
      '',
      async ({ query, request, set }) => {
        const page = await users.list(query, callerFor(request))
        // Personal data, as a single user's read: no shared cache may keep it.
        set.headers['cache-control'] = 'private'
        if (page.nextAfter !== undefined) set.headers.link = nextPageLink(request.url, query, page.nextAfter)
        return page.users
      },
      { query: ListUsersQuery, transform: strictQueryEncoding(ListUsersQuery), detail: docs.list },
    )
    .get('/me', async ({ request, set, status }) => (await read(meOf(request), request, set.headers, true)) ?? status(304), { detail: docs.read(docs.ME) })
    .patch('/me', ({ body, request, server, set }) => update(meOf(request), body, request, server, set.headers, true), {
      parse: 'json',
      body: UpdateUserBody,
      detail: docs.update(docs.ME),
    })
    .delete('/me', ({ request, set }) => remove(meOf(request), request, set), { detail: docs.remove(docs.ME) })
    .get('/:id', async ({ params, request, set, status }) => (await read(params.id, request, set.headers)) ?? status(304), {
      params: UserIdParams,
      detail: docs.read(docs.BY_ID),
    })
    .patch('/:id', ({ params, body, request, server, set }) => update(params.id, body, request, server, set.headers), {
      parse: 'json',
      params: UserIdParams,
      body: UpdateUserBody,
      detail: docs.update(docs.BY_ID),
    })
    .delete('/:id', ({ params, request, set }) => remove(params.id, request, set), { params: UserIdParams, detail: docs.remove(docs.BY_ID) })
}
