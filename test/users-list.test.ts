import { beforeAll, describe, expect, test } from 'bun:test'
import type { User } from '../src/users/schemas'
import { api, call, createUser, expectProblem, unique } from './support/http'

/**
 * Follows `rel="next"` links from `path`, returning every page. A link is a URL to fetch as it
 * stands, which the typed client (it builds its own query) cannot do: `call` does.
 */
const allPages = async (path: string) => {
  const pages: User[][] = []
  let next: string | undefined = path
  while (next) {
    const reply = await call('GET', next)
    expect(reply.status).toBe(200)
    pages.push(reply.body)
    const link = reply.headers.get('link')
    next = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : undefined
    if (pages.length > 100) throw new Error('too many pages')
  }
  return pages
}

describe('GET /users', () => {
  // A tag in every name keeps this file's users apart from everyone else's.
  const tag = unique()
  const users: User[] = []

  beforeAll(async () => {
    const specs = [
      { name: `Ada ${tag}`, age: 36 },
      { name: `ada-${tag} Byron`, age: 20 },
      { name: `Grace ${tag}`, age: 85 },
      { name: `Linus ${tag} 100%`, age: 54 },
      { name: `Under_score ${tag}`, age: 1 },
      { name: `Old ${tag}`, age: 120 },
    ]
    for (const spec of specs) users.push(await createUser({ ...spec, email: `${spec.name.split(' ')[0]!.toLowerCase()}-${tag}@example.com` }))
  })

  /** The users the list gives for `query`, through the typed client. */
  const listed = async (query: NonNullable<Parameters<typeof api.users.get>[0]>['query']) => (await api.users.get({ query })).data

  test('200, a JSON array in id order', async () => {
    const reply = await api.users.get({ query: { name: tag } })
    expect(reply.status).toBe(200)
    expect(reply.response.headers.get('content-type')).toStartWith('application/json')
    expect(reply.response.headers.get('link')).toBeNull()
    // Personal data: no shared cache may keep it, as for a single user.
    expect(reply.response.headers.get('cache-control')).toBe('private')
    expect(reply.data).toEqual(users)
  })

  test('an empty result is an empty array', async () => {
    const reply = await api.users.get({ query: { name: unique() } })
    expect(reply.status).toBe(200)
    expect(reply.data).toEqual([])
    expect(reply.response.headers.get('link')).toBeNull()
  })

  test('without a limit a page holds exactly 100 users, and links to the next with the same filters', async () => {
    const tag = unique()
    const created: User[] = []
    for (let i = 0; i < 101; i++) created.push(await createUser({ name: `Default ${tag} ${i}` }))
    const first = await call('GET', `/users?name=${tag}`)
    expect(first.status).toBe(200)
    expect(first.body).toEqual(created.slice(0, 100))
    expect(first.headers.get('link')).toBe(`</users?name=${tag}&after=${created[99]!.id}>; rel="next"`)
    const last = await call('GET', `/users?name=${tag}&after=${created[99]!.id}`)
    expect(last.status).toBe(200)
    expect(last.body).toEqual(created.slice(100))
    expect(last.headers.get('link')).toBeNull()
  })

  test('email: exact, case-insensitive', async () => {
    expect(await listed({ email: users[0]!.email.toUpperCase() })).toEqual([users[0]!])
    expect(await listed({ email: `a${users[0]!.email}` })).toEqual([])
  })

  test('name: case-insensitive substring', async () => {
    expect(await listed({ name: `ADA ${tag.toUpperCase()}` })).toEqual([users[0]!])
    expect(await listed({ name: `${tag} by` })).toEqual([users[1]!])
  })

  test('name: case-insensitive beyond ASCII', async () => {
    const user = await createUser({ name: `Élodie Ünal ${tag}x` })
    expect(await listed({ name: `éLODIE üNAL ${tag}X` })).toEqual([user])
    await api.users({ id: user.id }).delete()
  })

  test('name: % and _ match themselves', async () => {
    expect(await listed({ name: `${tag} 100%` })).toEqual([users[3]!])
    expect(await listed({ name: `%${tag}` })).toEqual([])
    expect(await listed({ name: `r_score ${tag}` })).toEqual([users[4]!])
    expect(await listed({ name: `_${tag}` })).toEqual([])
  })

  test('min_age and max_age are inclusive and combine with AND', async () => {
    expect(await listed({ name: tag, min_age: 54 })).toEqual([users[2]!, users[3]!, users[5]!])
    expect(await listed({ name: tag, max_age: 20 })).toEqual([users[1]!, users[4]!])
    expect(await listed({ name: tag, min_age: 20, max_age: 54 })).toEqual([users[0]!, users[1]!, users[3]!])
    expect(await listed({ name: tag, min_age: 60, max_age: 50 })).toEqual([])
    expect(await listed({ name: tag, min_age: 0, max_age: 9007199254740991 })).toEqual(users)
  })

  test('after returns only greater ids', async () => {
    expect(await listed({ name: tag, after: users[3]!.id })).toEqual(users.slice(4))
    expect(await listed({ name: tag, after: 0 })).toEqual(users)
  })

  test('a full page links to the next with the same filters and limit; the last page has no link', async () => {
    const first = await api.users.get({ query: { name: tag, min_age: 1, limit: 2 } })
    expect(first.data).toEqual(users.slice(0, 2))
    expect(first.response.headers.get('link')).toBe(`</users?name=${tag}&min_age=1&limit=2&after=${users[1]!.id}>; rel="next"`)
    const pages = await allPages(`/users?name=${tag}&limit=2`)
    expect(pages).toEqual([users.slice(0, 2), users.slice(2, 4), users.slice(4, 6)])
  })

  test('the next link carries the filters as understood: no unknown or repeated parameters', async () => {
    const reply = await call('GET', `/users?sort=desc&name=nobody&limit=9&name=${tag}&limit=2&email=&email=${encodeURIComponent(` ${users[0]!.email} `)}`)
    expect(reply.body).toEqual([users[0]])
    expect(reply.headers.get('link')).toBeNull()
    const paged = await call('GET', `/users?sort=desc&name=nobody&limit=9&name=${tag}&limit=2&min_age=007`)
    expect(paged.headers.get('link')).toBe(`</users?name=${tag}&limit=2&min_age=7&after=${users[1]!.id}>; rel="next"`)
  })

  test('a repeated parameter: the last one counts', async () => {
    expect((await call('GET', `/users?name=${unique()}&name=${tag}`)).body).toEqual(users)
  })

  test('unknown query parameters are ignored', async () => {
    expect((await call('GET', `/users?name=${tag}&sort=desc&page=3`)).body).toEqual(users)
  })

  test.each([
    ['limit', '0', 'must be an integer from 1 to 1000, written in decimal digits'],
    ['limit', '1001', 'must be an integer from 1 to 1000, written in decimal digits'],
    ['limit', '1e2', 'must be an integer from 1 to 1000, written in decimal digits'],
    ['limit', '2.5', 'must be an integer from 1 to 1000, written in decimal digits'],
    ['limit', '10x', 'must be an integer from 1 to 1000, written in decimal digits'],
    ['limit', '', 'must be an integer from 1 to 1000, written in decimal digits'],
    ['limit', '-1', 'must be an integer from 1 to 1000, written in decimal digits'],
    ['after', 'abc', 'must be an integer from 0 to 9007199254740991, written in decimal digits'],
    ['after', '99999999999999999999', 'must be an integer from 0 to 9007199254740991, written in decimal digits'],
    ['min_age', '1.5', 'must be an integer from 0 to 9007199254740991, written in decimal digits'],
    ['max_age', '-3', 'must be an integer from 0 to 9007199254740991, written in decimal digits'],
    ['email', 'not-an-email', 'must be a valid email address (local@domain.tld) of at most 254 characters'],
    ['name', '', 'must be a string of 1 to 100 characters, without control characters'],
    ['name', 'x'.repeat(101), 'must be a string of 1 to 100 characters, without control characters'],
    ['name', 'a\u0000b', 'must be a string of 1 to 100 characters, without control characters'],
  ])('%s=%p: 422 naming it', async (field, value, message) => {
    const body = expectProblem(await call('GET', `/users?${field}=${encodeURIComponent(value)}`), 422)
    expect(body.errors).toEqual([{ field, message }])
  })

  test('every malformed parameter is listed', async () => {
    const body = expectProblem(await call('GET', '/users?limit=0&after=x&min_age=y&max_age=z&email=bad'), 422)
    expect(body.errors!.map((error) => error.field).sort()).toEqual(['after', 'email', 'limit', 'max_age', 'min_age'])
  })

  test('limit 1000 is accepted', async () => {
    expect((await api.users.get({ query: { limit: 1000, name: tag } })).status).toBe(200)
  })
})

describe('paging 260 users with filters', () => {
  test('visits each matching user exactly once, in id order', async () => {
    const tag = unique()
    const created: User[] = []
    for (let i = 0; i < 260; i++) created.push(await createUser({ name: `Pager ${tag} ${i}`, age: 18 + (i % 60) }))
    const matching = created.filter((user) => user.age >= 30 && user.age <= 60)
    const pages = await allPages(`/users?name=${tag}&min_age=30&max_age=60&limit=25`)
    const seen = pages.flat()
    expect(seen).toEqual(matching)
    expect(new Set(seen.map((user) => user.id)).size).toBe(matching.length)
    expect(pages.length).toBe(Math.ceil(matching.length / 25))
    expect(pages.slice(0, -1).every((page) => page.length === 25)).toBe(true)
  })
})
