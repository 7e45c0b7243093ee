import { beforeAll, describe, expect, test } from 'bun:test'
import { call, createUser, expectProblem, unique } from './support/http'

type User = Awaited<ReturnType<typeof createUser>>

/** Follows `rel="next"` links from `path`, returning every page. */
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

  test('200, a JSON array in id order', async () => {
    const reply = await call('GET', `/users?name=${tag}`)
    expect(reply.status).toBe(200)
    expect(reply.headers.get('content-type')).toStartWith('application/json')
    expect(reply.headers.get('link')).toBeNull()
    expect(reply.body).toEqual(users)
  })

  test('an empty result is an empty array', async () => {
    const reply = await call('GET', `/users?name=${unique()}`)
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual([])
    expect(reply.headers.get('link')).toBeNull()
  })

  test('without a limit a page holds 100 users', async () => {
    const reply = await call('GET', '/users')
    expect(reply.status).toBe(200)
    expect(reply.body.length).toBeLessThanOrEqual(100)
    const ids = reply.body.map((user: User) => user.id)
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
  })

  test('email: exact, case-insensitive', async () => {
    const reply = await call('GET', `/users?email=${encodeURIComponent(users[0]!.email.toUpperCase())}`)
    expect(reply.body).toEqual([users[0]])
    expect((await call('GET', `/users?email=${encodeURIComponent(`a${users[0]!.email}`)}`)).body).toEqual([])
  })

  test('name: case-insensitive substring', async () => {
    expect((await call('GET', `/users?name=${encodeURIComponent(`ADA ${tag.toUpperCase()}`)}`)).body).toEqual([users[0]])
    expect((await call('GET', `/users?name=${encodeURIComponent(`${tag} by`)}`)).body).toEqual([users[1]])
  })

  test('name: case-insensitive beyond ASCII', async () => {
    const user = await createUser({ name: `Élodie Ünal ${tag}x` })
    expect((await call('GET', `/users?name=${encodeURIComponent(`éLODIE üNAL ${tag}X`)}`)).body).toEqual([user])
    await call('DELETE', `/users/${user.id}`)
  })

  test('name: % and _ match themselves', async () => {
    expect((await call('GET', `/users?name=${encodeURIComponent(`${tag} 100%`)}`)).body).toEqual([users[3]])
    expect((await call('GET', `/users?name=${encodeURIComponent(`%${tag}`)}`)).body).toEqual([])
    expect((await call('GET', `/users?name=${encodeURIComponent(`r_score ${tag}`)}`)).body).toEqual([users[4]])
    expect((await call('GET', `/users?name=${encodeURIComponent(`_${tag}`)}`)).body).toEqual([])
  })

  test('min_age and max_age are inclusive and combine with AND', async () => {
    expect((await call('GET', `/users?name=${tag}&min_age=54`)).body).toEqual([users[2], users[3], users[5]])
    expect((await call('GET', `/users?name=${tag}&max_age=20`)).body).toEqual([users[1], users[4]])
    expect((await call('GET', `/users?name=${tag}&min_age=20&max_age=54`)).body).toEqual([users[0], users[1], users[3]])
    expect((await call('GET', `/users?name=${tag}&min_age=60&max_age=50`)).body).toEqual([])
    expect((await call('GET', `/users?name=${tag}&min_age=0&max_age=9007199254740991`)).body).toEqual(users)
  })

  test('after returns only greater ids', async () => {
    expect((await call('GET', `/users?name=${tag}&after=${users[3]!.id}`)).body).toEqual(users.slice(4))
    expect((await call('GET', `/users?name=${tag}&after=0`)).body).toEqual(users)
  })

  test('a full page links to the next with the same filters and limit; the last page has no link', async () => {
    const first = await call('GET', `/users?name=${tag}&min_age=1&limit=2`)
    expect(first.body).toEqual(users.slice(0, 2))
    expect(first.headers.get('link')).toBe(`</users?name=${tag}&min_age=1&limit=2&after=${users[1]!.id}>; rel="next"`)
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
    expect((await call('GET', `/users?limit=1000&name=${tag}`)).status).toBe(200)
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
