import { Elysia, t } from 'elysia'
import { requireMigrated, type ServiceState } from '../http/health'
import { jsonResponse, responses, schemaRef } from '../http/openapi'
import { CreateUserBody, ListUsersQuery, MAX_PAGE_SIZE, UpdateUserBody, User, UserIdParams, type ListUsersFilters } from './schemas'
import type { UserService } from './service'

const USER_EXAMPLE = {
  id: 1,
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  age: 36,
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

/**
 * `/users`: validation and HTTP shape here, the rules that need the data in the service. Every
 * route uses the tables, so each answers 503 until the migrations have run.
 */
export const usersRoutes = ({ users, state }: { users: UserService; state: ServiceState }) =>
  new Elysia({ name: 'users', prefix: '/users' })
    .onBeforeHandle(requireMigrated(state))
    .post(
      '',
      async ({ body, set }) => {
        const user = await users.create(body)
        set.status = 201
        set.headers.location = `/users/${user.id}`
        return user
      },
      {
        parse: 'json',
        body: CreateUserBody,
        detail: {
          summary: 'Create a user',
          description: 'Name and email are trimmed; the email must not belong to another user, in any case.',
          tags: ['users'],
          responses: responses(
            { 201: jsonResponse('Created: the new user.', UserRef, { headers: LOCATION, example: USER_EXAMPLE }) },
            400, 409, 413, 415, 422, 503,
          ),
        },
      },
    )
    .get(
      '',
      async ({ query, request, set }) => {
        const page = await users.list(query)
        if (page.nextAfter !== undefined) set.headers.link = nextPageLink(request.url, query, page.nextAfter)
        return page.users
      },
      {
        query: ListUsersQuery,
        detail: {
          summary: 'List users by id, filtered, a page at a time',
          description:
            'Users in id order. Filters combine with AND, and with paging; while more users match, `Link` gives the next page. ' +
            'Integer parameters are plain decimal digits; unknown parameters are ignored; of a repeated one, the last counts.',
          tags: ['users'],
          responses: responses(
            {
              200: jsonResponse('A page of users in id order (possibly empty).', t.Array(UserRef, { maxItems: MAX_PAGE_SIZE }), {
                headers: LINK,
                example: [USER_EXAMPLE],
              }),
            },
            422, 503,
          ),
        },
      },
    )
    .get('/:id', ({ params }) => users.get(params.id), {
      params: UserIdParams,
      detail: {
        summary: 'Read a user',
        description: 'The user with this id.',
        tags: ['users'],
        responses: responses({ 200: jsonResponse('The user.', UserRef, { example: USER_EXAMPLE }) }, 404, 422, 503),
      },
    })
    .patch('/:id', ({ params, body }) => users.update(params.id, body), {
      parse: 'json',
      params: UserIdParams,
      body: UpdateUserBody,
      detail: {
        summary: 'Change some of a user’s fields',
        description: 'Any non-empty subset of name, email and age, under the rules of create; `updated_at` moves.',
        tags: ['users'],
        responses: responses(
          { 200: jsonResponse('The updated user.', UserRef, { example: { ...USER_EXAMPLE, age: 37, updated_at: '2026-11-24T09:30:00.000Z' } }) },
          400, 404, 409, 413, 415, 422, 503,
        ),
      },
    })
    .delete(
      '/:id',
      async ({ params, set }) => {
        await users.remove(params.id)
        set.status = 204
      },
      {
        params: UserIdParams,
        detail: {
          summary: 'Delete a user',
          description: 'Deletion is real: the email is free again. Deleting twice gives 404 the second time.',
          tags: ['users'],
          responses: responses({ 204: { description: 'Deleted; no body.' } }, 404, 422, 503),
        },
      },
    )
