import { describe, expect, test } from 'bun:test'
import type { ReservedSql } from 'postgres'
import { AUTH_ON, accountIn, buildApp, call, createAccount, createUser, expectProblem, type Reply } from './support/http'
import { openFreshDatabase, serverUrl, testDatabase, untilSomeoneWaitsOn } from './support/database'

const etagOf = (reply: Reply) => reply.headers.get('etag')!
const expectUnchanged = async (id: number, etag: string) => {
  const reply = await call('GET', `/users/${id}`)
  expect(reply.status).toBe(200)
  expect(reply.headers.get('etag')).toBe(etag)
}

describe('ETag', () => {
  test('every single-user answer carries the version as a strong ETag, private to the caller', async () => {
    const created = await call('POST', '/users', { json: { name: 'Tag', email: `tag-${crypto.randomUUID()}@example.com`, age: 30 } })
    expect(created.status).toBe(201)
    const id = created.body.id
    expect(created.headers.get('etag')).toBe(`"${id}-1"`)
    expect(created.headers.get('cache-control')).toBe('private')
    const read = await call('GET', `/users/${id}`)
    expect(read.status).toBe(200)
    expect(read.headers.get('etag')).toBe(`"${id}-1"`)
    expect(read.headers.get('cache-control')).toBe('private')
    expect(read.headers.get('vary')).toBeNull()
    const patched = await call('PATCH', `/users/${id}`, { json: { age: 31 } })
    expect(patched.status).toBe(200)
    expect(patched.headers.get('etag')).toBe(`"${id}-2"`)
    expect((await call('GET', `/users/${id}`)).headers.get('etag')).toBe(`"${id}-2"`)
  })

  test('two changes within one millisecond still give two ETags', async () => {
    const user = await createUser()
    const [first, second] = [await call('PATCH', `/users/${user.id}`, { json: { age: 40 } }), await call('PATCH', `/users/${user.id}`, { json: { age: 40 } })]
    expect([first.status, second.status]).toEqual([200, 200])
    expect(etagOf(first)).toBe(`"${user.id}-2"`)
    expect(etagOf(second)).toBe(`"${user.id}-3"`)
  })

  test.skipIf(!AUTH_ON)('/users/me varies by token', async () => {
    const account = await createAccount()
    const reply = await call('GET', '/users/me', { token: account.token })
    expect(reply.status).toBe(200)
    expect(reply.headers.get('etag')).toBe(`"${account.id}-1"`)
    expect(reply.headers.get('cache-control')).toBe('private')
    expect(reply.headers.get('vary')).toBe('Authorization')
    const again = await call('GET', '/users/me', { token: account.token, headers: { 'if-none-match': `"${account.id}-1"` } })
    expect(again.status).toBe(304)
    expect(again.headers.get('vary')).toBe('Authorization')
  })

  test.skipIf(!AUTH_ON)('/users/me with CORS on varies by origin and by token', async () => {
    const { sql } = await testDatabase()
    const app = buildApp(sql, { corsOrigins: ['https://app.example'] })
    const account = await accountIn(sql, app)
    const headers = { origin: 'https://app.example' }
    const reply = await call('GET', '/users/me', { token: account.token, headers }, app)
    expect(reply.status).toBe(200)
    expect(reply.headers.get('access-control-allow-origin')).toBe('https://app.example')
    expect(reply.headers.get('vary')).toBe('Origin, Authorization')
    const again = await call('GET', '/users/me', { token: account.token, headers: { ...headers, 'if-none-match': reply.headers.get('etag')! } }, app)
    expect(again.status).toBe(304)
    expect(again.headers.get('vary')).toBe('Origin, Authorization')
  })
})

describe('If-None-Match', () => {
  test.each([
    ['the current tag', (id: number) => `"${id}-1"`],
    ['its weak form (weak comparison)', (id: number) => `W/"${id}-1"`],
    ['a list holding it', (id: number) => `"${id}-7", "${id}-1"`],
    ['*', () => '*'],
  ])('%s: 304 with the ETag and no body', async (_, header) => {
    const user = await createUser()
    const reply = await call('GET', `/users/${user.id}`, { headers: { 'if-none-match': header(user.id) } })
    expect(reply.status).toBe(304)
    expect(reply.text).toBe('')
    expect(reply.headers.get('etag')).toBe(`"${user.id}-1"`)
    expect(reply.headers.get('cache-control')).toBe('private')
    expect(reply.headers.get('content-type')).toBeNull()
  })

  test.each([
    ['a stale tag', (id: number) => `"${id}-0"`],
    ["another user's tag", (id: number) => `"${id + 1}-1"`],
    ['a malformed value', (id: number) => `${id}-1`],
  ])('%s: 200 with the user', async (_, header) => {
    const user = await createUser()
    const reply = await call('GET', `/users/${user.id}`, { headers: { 'if-none-match': header(user.id) } })
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual(user)
  })

  test('a missing user is 404 whatever the header', async () => {
    expectProblem(await call('GET', '/users/9007199254740991', { headers: { 'if-none-match': '*' } }), 404)
  })
})

describe('If-Match', () => {
  test('PATCH with the current tag: 200; with a stale one: 412 and nothing changes', async () => {
    const user = await createUser({ age: 20 })
    const ok = await call('PATCH', `/users/${user.id}`, { json: { age: 21 }, headers: { 'if-match': `"${user.id}-1"` } })
    expect(ok.status).toBe(200)
    expect(ok.body.age).toBe(21)
    const stale = await call('PATCH', `/users/${user.id}`, { json: { age: 22 }, headers: { 'if-match': `"${user.id}-1"` } })
    expect(expectProblem(stale, 412)).toEqual({
      type: 'about:blank',
      title: 'Precondition Failed',
      status: 412,
      detail: 'The user has changed since it was read: If-Match does not match its ETag',
    })
    const read = await call('GET', `/users/${user.id}`)
    expect(read.body.age).toBe(21)
    expect(etagOf(read)).toBe(`"${user.id}-2"`)
  })

  test.each([
    ['a weak tag (strong comparison)', (id: number) => `W/"${id}-1"`],
    ["another user's tag", (id: number) => `"${id + 1}-1"`],
    ['a malformed value', (id: number) => `${id}-1`],
    ['an empty list', () => ','],
  ])('%s: 412', async (_, header) => {
    const user = await createUser()
    expectProblem(await call('PATCH', `/users/${user.id}`, { json: { age: 50 }, headers: { 'if-match': header(user.id) } }), 412)
    expectProblem(await call('DELETE', `/users/${user.id}`, { headers: { 'if-match': header(user.id) } }), 412)
    await expectUnchanged(user.id, `"${user.id}-1"`)
  })

  test('* matches any existing user; a list matches any of its tags', async () => {
    const user = await createUser()
    expect((await call('PATCH', `/users/${user.id}`, { json: { age: 50 }, headers: { 'if-match': '*' } })).status).toBe(200)
    const listed = await call('PATCH', `/users/${user.id}`, { json: { age: 51 }, headers: { 'if-match': `"${user.id}-9", "${user.id}-2"` } })
    expect(listed.status).toBe(200)
    expect(etagOf(listed)).toBe(`"${user.id}-3"`)
    const gone = await call('DELETE', `/users/${user.id}`, { headers: { 'if-match': '*' } })
    expect(gone.status).toBe(204)
  })

  test('DELETE with a stale tag: 412 and the user stays; with the current one: 204', async () => {
    const user = await createUser()
    await call('PATCH', `/users/${user.id}`, { json: { age: 33 } })
    expectProblem(await call('DELETE', `/users/${user.id}`, { headers: { 'if-match': `"${user.id}-1"` } }), 412)
    await expectUnchanged(user.id, `"${user.id}-2"`)
    expect((await call('DELETE', `/users/${user.id}`, { headers: { 'if-match': `"${user.id}-2"` } })).status).toBe(204)
  })

  test('a missing user is 404 whatever the preconditions', async () => {
    expectProblem(await call('PATCH', '/users/9007199254740991', { json: { age: 5 }, headers: { 'if-match': '"9007199254740991-1"' } }), 404)
    expectProblem(await call('DELETE', '/users/9007199254740991', { headers: { 'if-match': '*' } }), 404)
  })

  test('an invalid body is reported before the precondition', async () => {
    const user = await createUser()
    const reply = await call('PATCH', `/users/${user.id}`, { json: { age: 'old' }, headers: { 'if-match': '"1-999"' } })
    expect(expectProblem(reply, 422).errors).toEqual([{ field: 'age', message: 'must be a JSON integer' }])
  })

  test('two PATCHes with the same If-Match at once: exactly one wins', async () => {
    for (let round = 0; round < 5; round++) {
      const user = await createUser()
      const send = (age: number) => call('PATCH', `/users/${user.id}`, { json: { age }, headers: { 'if-match': `"${user.id}-1"` } })
      const replies = await Promise.all([send(60), send(61)])
      expect(replies.map((reply) => reply.status).sort()).toEqual([200, 412])
      const winner = replies.find((reply) => reply.status === 200)!
      await expectUnchanged(user.id, `"${user.id}-2"`)
      expect((await call('GET', `/users/${user.id}`)).body.age).toBe(winner.body.age)
    }
  })
})

const STALE_DETAIL = 'The user has changed since it was read: If-Match does not match its ETag'
const NONE_MATCH_DETAIL = 'If-None-Match names the user’s current ETag'

describe('If-Match on a read (RFC 9110 §13.1.1: a failing If-Match stops any method)', () => {
  test.each([
    ['the current tag', (id: number) => `"${id}-1"`],
    ['*', () => '*'],
    ['a list holding it', (id: number) => `"${id}-7", "${id}-1"`],
  ])('%s: 200 with the user', async (_, header) => {
    const user = await createUser()
    const reply = await call('GET', `/users/${user.id}`, { headers: { 'if-match': header(user.id) } })
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual(user)
    expect(reply.headers.get('etag')).toBe(`"${user.id}-1"`)
  })

  test.each([
    ['a stale tag', (id: number) => `"${id}-2"`],
    ['a weak tag (strong comparison)', (id: number) => `W/"${id}-1"`],
    ["another user's tag", (id: number) => `"${id + 1}-1"`],
    ['a malformed value', (id: number) => `${id}-1`],
  ])('%s: 412, no ETag, and HEAD alike', async (_, header) => {
    const user = await createUser()
    const headers = { 'if-match': header(user.id) }
    const reply = await call('GET', `/users/${user.id}`, { headers })
    expect(expectProblem(reply, 412)).toEqual({ type: 'about:blank', title: 'Precondition Failed', status: 412, detail: STALE_DETAIL })
    expect(reply.headers.get('etag')).toBeNull()
    const head = await call('HEAD', `/users/${user.id}`, { headers })
    expect(head.status).toBe(412)
    expect(head.text).toBe('')
  })

  test('If-Match is evaluated before If-None-Match', async () => {
    const user = await createUser()
    const current = `"${user.id}-1"`
    const both = await call('GET', `/users/${user.id}`, { headers: { 'if-match': current, 'if-none-match': current } })
    expect(both.status).toBe(304)
    expect(both.headers.get('etag')).toBe(current)
    const stale = await call('GET', `/users/${user.id}`, { headers: { 'if-match': `"${user.id}-9"`, 'if-none-match': current } })
    expect(expectProblem(stale, 412).detail).toBe(STALE_DETAIL)
  })

  test('a missing user is 404 whatever the header', async () => {
    expectProblem(await call('GET', '/users/9007199254740991', { headers: { 'if-match': '"9007199254740991-1"' } }), 404)
  })

  test('a header sent empty (a field left blank in an API tool) is as good as none', async () => {
    const user = await createUser()
    for (const headers of [{ 'if-match': '' }, { 'if-none-match': ' ' }] as Record<string, string>[]) {
      const read = await call('GET', `/users/${user.id}`, { headers })
      expect([read.status, read.body]).toEqual([200, user])
    }
    const patched = await call('PATCH', `/users/${user.id}`, { json: { age: 50 }, headers: { 'if-match': '', 'if-none-match': '' } })
    expect([patched.status, etagOf(patched)]).toEqual([200, `"${user.id}-2"`])
    const strict = buildApp((await testDatabase()).sql, { requireIfMatch: true })
    expectProblem(await call('DELETE', `/users/${user.id}`, { headers: { 'if-match': '' } }, strict), 428)
  })

  test.skipIf(!AUTH_ON)('/users/me with a stale If-Match: 412', async () => {
    const account = await createAccount()
    const reply = await call('GET', '/users/me', { token: account.token, headers: { 'if-match': `"${account.id}-2"` } })
    expect(expectProblem(reply, 412).detail).toBe(STALE_DETAIL)
    const current = await call('GET', '/users/me', { token: account.token, headers: { 'if-match': `"${account.id}-1"` } })
    expect(current.status).toBe(200)
    expect(current.body.id).toBe(account.id)
  })
})

describe('If-None-Match on a change (RFC 9110 §13.1.2: 412 when it names the current tag)', () => {
  test.each([
    ['the current tag', (id: number) => `"${id}-1"`],
    ['its weak form (weak comparison)', (id: number) => `W/"${id}-1"`],
    ['a list holding it', (id: number) => `"${id}-7", "${id}-1"`],
    ['* (the user exists)', () => '*'],
  ])('%s: 412 and nothing changes', async (_, header) => {
    const user = await createUser()
    const headers = { 'if-none-match': header(user.id) }
    const patched = await call('PATCH', `/users/${user.id}`, { json: { age: 50 }, headers })
    expect(expectProblem(patched, 412)).toEqual({ type: 'about:blank', title: 'Precondition Failed', status: 412, detail: NONE_MATCH_DETAIL })
    expect(patched.headers.get('etag')).toBeNull()
    expect(expectProblem(await call('DELETE', `/users/${user.id}`, { headers }), 412).detail).toBe(NONE_MATCH_DETAIL)
    await expectUnchanged(user.id, `"${user.id}-1"`)
  })

  test.each([
    ['a tag of another version', (id: number) => `"${id}-2"`],
    ["another user's tag", (id: number) => `"${id + 1}-1"`],
    ['a malformed value', (id: number) => `${id}-1`],
  ])('%s: the change happens', async (_, header) => {
    const user = await createUser({ age: 20 })
    const patched = await call('PATCH', `/users/${user.id}`, { json: { age: 21 }, headers: { 'if-none-match': header(user.id) } })
    expect(patched.status).toBe(200)
    expect(patched.body.age).toBe(21)
    expect(etagOf(patched)).toBe(`"${user.id}-2"`)
    // Now at version 2: the tags of versions it has left name nothing current.
    const deleted = await call('DELETE', `/users/${user.id}`, { headers: { 'if-none-match': `"${user.id}-1", W/"${user.id}-3"` } })
    expect(deleted.status).toBe(204)
    expectProblem(await call('GET', `/users/${user.id}`), 404)
  })

  test('with If-Match current and If-None-Match naming it too: 412', async () => {
    const user = await createUser()
    const current = `"${user.id}-1"`
    const reply = await call('PATCH', `/users/${user.id}`, { json: { age: 50 }, headers: { 'if-match': current, 'if-none-match': current } })
    expect(expectProblem(reply, 412).detail).toBe(NONE_MATCH_DETAIL)
    await expectUnchanged(user.id, current)
  })

  test('a missing user is 404 whatever the header', async () => {
    expectProblem(await call('PATCH', '/users/9007199254740991', { json: { age: 5 }, headers: { 'if-none-match': '*' } }), 404)
    expectProblem(await call('DELETE', '/users/9007199254740991', { headers: { 'if-none-match': '*' } }), 404)
  })

  test('checked in the write itself: two PATCHes refusing version 2, at once: one moves the user to it, the other gets 412', async () => {
    for (let round = 0; round < 5; round++) {
      const user = await createUser()
      const send = (age: number) => call('PATCH', `/users/${user.id}`, { json: { age }, headers: { 'if-none-match': `"${user.id}-2"` } })
      const replies = await Promise.all([send(60), send(61)])
      expect(replies.map((reply) => reply.status).sort()).toEqual([200, 412])
      expect(expectProblem(replies.find((reply) => reply.status === 412)!, 412).detail).toBe(NONE_MATCH_DETAIL)
      await expectUnchanged(user.id, `"${user.id}-2"`)
    }
  })
})

// A write of another transaction holds the user's row; the request waits for it, and sees what it
// committed only then: the change's statement, which began before, sees the user as it was.
const sentWhileHeld = async (hold: (tx: ReservedSql, id: number) => Promise<unknown>, id: number, send: () => Promise<Reply>) => {
  const { sql } = await testDatabase()
  const tx = await sql.reserve()
  try {
    await tx`begin`
    await hold(tx, id)
    const reply = send()
    await untilSomeoneWaitsOn(tx)
    await tx`commit`
    return await reply
  } catch (error) {
    await tx`rollback`.catch(() => {})
    throw error
  } finally {
    tx.release()
  }
}

describe.skipIf(!serverUrl)('on PostgreSQL: a change that waited for another write on the same user', () => {
  const deleteIt = (tx: ReservedSql, id: number) => tx`delete from users where id = ${id}`
  const changeIt = (tx: ReservedSql, id: number) => tx`update users set age = 99, version = version + 1 where id = ${id}`
  test.each([
    ['deleted meanwhile, PATCH without preconditions', deleteIt, 'PATCH', {}, 404, 'User not found'],
    ['deleted meanwhile, PATCH with an If-None-Match it passed', deleteIt, 'PATCH', { 'if-none-match': '"ID-9"' }, 404, 'User not found'],
    ['deleted meanwhile, DELETE with the If-Match it read', deleteIt, 'DELETE', { 'if-match': '"ID-1"' }, 404, 'User not found'],
    ['changed meanwhile, PATCH with the If-Match it read', changeIt, 'PATCH', { 'if-match': '"ID-1"' }, 412, STALE_DETAIL],
    ['changed meanwhile to the version If-None-Match names', changeIt, 'PATCH', { 'if-none-match': '"ID-2"' }, 412, NONE_MATCH_DETAIL],
    ['changed meanwhile to the version If-None-Match names, DELETE', changeIt, 'DELETE', { 'if-none-match': 'W/"ID-2"' }, 412, NONE_MATCH_DETAIL],
  ] as const)('%s', async (_, hold, method, headers, status, detail) => {
    const user = await createUser({ age: 20 })
    const withId = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, value.replace('ID', String(user.id))]))
    const reply = await sentWhileHeld(hold, user.id, () => call(method, `/users/${user.id}`, { json: method === 'PATCH' ? { age: 21 } : undefined, headers: withId }))
    expect(expectProblem(reply, status).detail).toBe(detail)
    // What the other write committed stands; this one changed nothing.
    const read = await call('GET', `/users/${user.id}`)
    if (hold === deleteIt) expectProblem(read, 404)
    else expect([read.status, read.body.age, etagOf(read)]).toEqual([200, 99, `"${user.id}-2"`])
  })
})

describe('REQUIRE_IF_MATCH=true', () => {
  const strictApp = async () => buildApp((await testDatabase()).sql, { requireIfMatch: true })

  test('PATCH and DELETE without If-Match: 428; with it: as usual', async () => {
    const app = await strictApp()
    const user = await createUser()
    const patch = await call('PATCH', `/users/${user.id}`, { json: { age: 44 } }, app)
    expect(expectProblem(patch, 428)).toEqual({
      type: 'about:blank',
      title: 'Precondition Required',
      status: 428,
      detail: 'This request needs an If-Match header with the user’s ETag',
    })
    expectProblem(await call('DELETE', `/users/${user.id}`, {}, app), 428)
    // If-None-Match is no If-Match.
    expectProblem(await call('PATCH', `/users/${user.id}`, { json: { age: 44 }, headers: { 'if-none-match': '*' } }, app), 428)
    await expectUnchanged(user.id, `"${user.id}-1"`)
    expect((await call('PATCH', `/users/${user.id}`, { json: { age: 44 }, headers: { 'if-match': `"${user.id}-1"` } }, app)).status).toBe(200)
    expect((await call('DELETE', `/users/${user.id}`, { headers: { 'if-match': `"${user.id}-2"` } }, app)).status).toBe(204)
  })

  test('a missing user is still 404; reads and creates need nothing', async () => {
    const app = await strictApp()
    expectProblem(await call('PATCH', '/users/9007199254740991', { json: { age: 44 } }, app), 404)
    expectProblem(await call('DELETE', '/users/9007199254740991', {}, app), 404)
    const user = await createUser()
    expect((await call('GET', `/users/${user.id}`, {}, app)).status).toBe(200)
  })
})

describe.skipIf(!AUTH_ON)('preconditions come before the last-admin rule', () => {
  test('the last admin with a stale If-Match: 412, not 409; without If-Match under REQUIRE_IF_MATCH: 428', async () => {
    const database = await openFreshDatabase()
    try {
      const app = buildApp(database.sql)
      const admin = await accountIn(database.sql, app, 'admin')
      const stale = { 'if-match': `"${admin.id}-0"` }
      const deleted = await call('DELETE', '/users/me', { token: admin.token, headers: stale }, app)
      expect(expectProblem(deleted, 412).detail).toBe('The user has changed since it was read: If-Match does not match its ETag')
      const demoted = await call('PATCH', `/users/${admin.id}`, { token: admin.token, json: { role: 'user' }, headers: stale }, app)
      expect(expectProblem(demoted, 412).detail).toBe('The user has changed since it was read: If-Match does not match its ETag')
      const named = { 'if-none-match': `"${admin.id}-1"` }
      expect(expectProblem(await call('DELETE', '/users/me', { token: admin.token, headers: named }, app), 412).detail).toBe(NONE_MATCH_DETAIL)
      expect(expectProblem(await call('PATCH', '/users/me', { token: admin.token, json: { role: 'user' }, headers: named }, app), 412).detail).toBe(NONE_MATCH_DETAIL)
      const strict = buildApp(database.sql, { requireIfMatch: true })
      const required = await call('DELETE', `/users/${admin.id}`, { token: admin.token }, strict)
      expect(expectProblem(required, 428).detail).toBe('This request needs an If-Match header with the user’s ETag')
      // With the current tag, the last-admin rule answers.
      const current = await call('DELETE', '/users/me', { token: admin.token, headers: { 'if-match': `"${admin.id}-1"` } }, strict)
      expect(expectProblem(current, 409).detail).toBe('The last admin cannot be removed or demoted')
    } finally {
      await database.close()
    }
  }, 60_000)
})
