import { Elysia, t } from 'elysia'
import type { AccountRules } from '../auth/accounts'
import { callerOf } from '../auth/guard'
import type { ClientAddress } from '../http/client-address'
import { requireMigrated, type ServiceState } from '../http/health'
import { SECURED, jsonResponse, responses, schemaRef } from '../http/openapi'
import { problems, type ProblemStatus } from '../http/problems'
import { CreateUserBody, ListUsersQuery, MAX_PAGE_SIZE, UpdateUserBody, User, UserIdParams, type ListUsersFilters, type UpdateUserInput } from './schemas'
import type { UserService } from './service'

const USER_EXAMPLE = {
  id: 1,
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  age: 36,
  role: 'user',
  created_at: '2026-11-23T10:00:00.000Z',
  updated_at: '2026-11-23T10:00:00.000Z',
}
const UserRef = schemaRef('User')
/** The schemas the routes reference by name, for the document's `components`. */
export const userSchemas = { User }

const FILTERS = ['limit', 'email', 'name', 'min_age', 'max_age'] as const

// The longest link: every filter at its longest, percent-encoded (up to 12 characters for each of
// the 100 code points of `name`, 3 for each of the 254 characters of `email`): 2,079 characters.
const LINK = {
  Link: {
    description: 'The next page, with the filters and limit of this request: `</users?...&after=N>; rel="next"`; absent on the last page.',
    schema: { type: 'string' as const, maxLength: 2100, pattern: '^</users\\?[^>]*>; rel="next"$', example: '</users?limit=100&after=100>; rel="next"' },
  },
}
const LOCATION = {
  Location: {
    description: 'The new user: `/users/{id}`.',
    required: true,
    schema: { type: 'string' as const, maxLength: 23, pattern: '^/users/[1-9][0-9]*$', example: '/users/1' },
  },
}

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
  accounts: AccountRules
  state: ServiceState
  /** Access control on: `/users/me` exists and operations are documented as secured. */
  auth: boolean
  /** Anyone may create a `user` without a token: `POST /users` documents its token as optional. */
  signupOpen?: boolean
  clientOf: ClientAddress
}

const ME = { summary: ' (yourself)', description: ' The token’s own user: `/users/me` is `/users/{id}` with your id.' }
const BY_ID = { summary: '', description: '' }

/**
 * `/users`: validation and HTTP shape here, who may call what in `../auth/guard` (which has run
 * before any of this), the field rules that depend on the caller in `../auth/accounts`, the rules
 * that need the data in the service. Every route uses the tables, so each answers 503 until the
 * migrations have run.
 */
export const usersRoutes = ({ users, accounts, state, auth, clientOf, signupOpen = false }: UsersRoutesOptions) => {
  const secured = auth ? { security: SECURED } : {}
  const guarded = (...statuses: ProblemStatus[]): ProblemStatus[] => (auth ? [401, 403, ...statuses] : statuses)
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
  const update = async (id: number, body: UpdateUserInput, request: Request, server: Parameters<ClientAddress>[1]) => {
    const caller = callerFor(request)
    return users.update(id, await accounts.forUpdate(id, body, caller, clientOf(request, server)), caller)
  }
  const remove = async (id: number, request: Request, set: { status?: number | string }) => {
    await users.remove(id, callerFor(request))
    set.status = 204
  }
  const readDetail = (me: typeof ME) => ({
    ...(me === ME && !auth ? { hide: true } : {}),
    summary: `Read a user${me.summary}`,
    description: `The user with this id (admins: anyone; users: themselves).${me.description}`,
    tags: ['users'],
    ...secured,
    responses: responses({ 200: jsonResponse('The user.', UserRef, { example: USER_EXAMPLE }) }, ...guarded(404, 422, 503)),
  })
  const updateDetail = (me: typeof ME) => ({
    ...(me === ME && !auth ? { hide: true } : {}),
    summary: `Change some of a user’s fields${me.summary}`,
    description:
      'Any non-empty subset of the fields, under the rules of create; `updated_at` moves. Only an admin sets `role`; changing your own password needs `current_password`. ' +
      `A new password or role ends the user’s tokens; demoting the last admin is a 409.${me.description}`,
    tags: ['users'],
    ...secured,
    responses: responses(
      { 200: jsonResponse('The updated user.', UserRef, { example: { ...USER_EXAMPLE, age: 37, updated_at: '2026-11-24T09:30:00.000Z' } }) },
      ...guarded(400, 404, 409, 413, 415, 422, 503),
    ),
  })
  const deleteDetail = (me: typeof ME) => ({
    ...(me === ME && !auth ? { hide: true } : {}),
    summary: `Delete a user${me.summary}`,
    description: `Deletion is real: the email is free again. Deleting twice gives 404 the second time; the last admin cannot be deleted (409).${me.description}`,
    tags: ['users'],
    ...secured,
    responses: responses({ 204: { description: 'Deleted; no body.' } }, ...guarded(404, 409, 422, 503)),
  })
  return new Elysia({ name: 'users', prefix: '/users' })
    .onBeforeHandle(requireMigrated(state))
    .post(
      '',
      async ({ body, request, set }) => {
        const caller = callerFor(request, true)
        const user = await users.create(await accounts.forCreate(body, caller), caller)
        set.status = 201
        set.headers.location = `/users/${user.id}`
        return user
      },
      {
        parse: 'json',
        body: CreateUserBody,
        detail: {
          summary: 'Create a user',
          description:
            'Name and email are trimmed; the email must not belong to another user, in any case. Admins only; with sign-up open, anyone without a token may create a `user` (password required, no role).',
          tags: ['users'],
          ...(auth && signupOpen ? { security: [...SECURED, {}] } : secured),
          responses: responses(
            { 201: jsonResponse('Created: the new user.', UserRef, { headers: LOCATION, example: USER_EXAMPLE }) },
            ...guarded(400, 409, 413, 415, 422, 503),
          ),
        },
      },
    )
    .get(
      '',
      async ({ query, request, set }) => {
        const page = await users.list(query, callerFor(request))
        if (page.nextAfter !== undefined) set.headers.link = nextPageLink(request.url, query, page.nextAfter)
        return page.users
      },
      {
        query: ListUsersQuery,
        detail: {
          summary: 'List users by id, filtered, a page at a time',
          description:
            'Users in id order (admins only). Filters combine with AND, and with paging; while more users match, `Link` gives the next page. ' +
            'Integer parameters are plain decimal digits; unknown parameters are ignored; of a repeated one, the last counts.',
          tags: ['users'],
          ...secured,
          responses: responses(
            {
              200: jsonResponse('A page of users in id order (possibly empty).', t.Array(UserRef, { maxItems: MAX_PAGE_SIZE }), {
                headers: LINK,
                example: [USER_EXAMPLE],
              }),
            },
            ...guarded(422, 503),
          ),
        },
      },
    )
    .get('/me', ({ request }) => users.get(meOf(request), callerFor(request)), { detail: readDetail(ME) })
    .patch('/me', ({ body, request, server }) => update(meOf(request), body, request, server), { parse: 'json', body: UpdateUserBody, detail: updateDetail(ME) })
    .delete('/me', ({ request, set }) => remove(meOf(request), request, set), { detail: deleteDetail(ME) })
    .get('/:id', ({ params, request }) => users.get(params.id, callerFor(request)), { params: UserIdParams, detail: readDetail(BY_ID) })
    .patch('/:id', ({ params, body, request, server }) => update(params.id, body, request, server), {
      parse: 'json',
      params: UserIdParams,
      body: UpdateUserBody,
      detail: updateDetail(BY_ID),
    })
    .delete('/:id', ({ params, request, set }) => remove(params.id, request, set), { params: UserIdParams, detail: deleteDetail(BY_ID) })
}
