import { Elysia, t } from 'elysia'
import { jsonResponse, responses } from '../http/openapi'
import { CreateUserBody, ListUsersQuery, UpdateUserBody, User, UserIdParams } from './schemas'
import type { UserService } from './service'

const LINK = { Link: { description: 'The next page: `</users?...&after=N>; rel="next"`; absent on the last page.', schema: t.String() } }
const LOCATION = { Location: { description: 'The new user: `/users/{id}`.', schema: t.String() } }

/** The next page's URL: the same filters and limit, `after` the last id of this page. */
const nextPageLink = (path: string, url: string, after: number) => {
  // Only the query string of the URL is read: with a broken Host header, the rest is not a URL.
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1).split('#', 1)[0] : ''
  const params = new URLSearchParams(query)
  params.set('after', String(after))
  return `<${path}?${params}>; rel="next"`
}

/** `/users`: validation and HTTP shape here, every rule in the service. */
export const usersRoutes = (users: UserService) =>
  new Elysia({ prefix: '/users' })
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
          tags: ['users'],
          responses: responses({ 201: jsonResponse('Created: the new user.', User, LOCATION) }, 400, 409, 413, 415, 422, 503),
        },
      },
    )
    .get(
      '',
      async ({ query, path, request, set }) => {
        const page = await users.list(query)
        if (page.nextAfter !== undefined) set.headers.link = nextPageLink(path, request.url, page.nextAfter)
        return page.users
      },
      {
        query: ListUsersQuery,
        detail: {
          summary: 'List users by id, filtered, a page at a time',
          tags: ['users'],
          responses: responses({ 200: jsonResponse('A page of users in id order.', t.Array(User), LINK) }, 422, 503),
        },
      },
    )
    .get('/:id', ({ params }) => users.get(params.id), {
      params: UserIdParams,
      detail: {
        summary: 'Read a user',
        tags: ['users'],
        responses: responses({ 200: jsonResponse('The user.', User) }, 404, 422, 503),
      },
    })
    .patch('/:id', ({ params, body }) => users.update(params.id, body), {
      parse: 'json',
      params: UserIdParams,
      body: UpdateUserBody,
      detail: {
        summary: 'Change some of a user’s fields',
        tags: ['users'],
        responses: responses({ 200: jsonResponse('The updated user.', User) }, 400, 404, 409, 413, 415, 422, 503),
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
          tags: ['users'],
          responses: responses({ 204: { description: 'Deleted.' } }, 404, 422, 503),
        },
      },
    )
