import { describe, expect, test } from 'bun:test'
import { testDatabase } from '../support/database'
import { AUTH_ON, buildApp, call, unique } from '../support/http'

/** Polls `read` until it gives `expected` (a sweep runs alongside the request that started it). */
const settles = async <T>(read: () => Promise<T>, expected: T) => {
  for (let waited = 0; waited < 100 && !Bun.deepEquals(await read(), expected); waited++) await Bun.sleep(20)
  return read()
}

describe.skipIf(!AUTH_ON)('what logins leave behind', () => {
  test('failed logins older than 24 hours are deleted; newer ones still count', async () => {
    const { sql } = await testDatabase()
    const email = `swept-${unique()}@example.com`
    for (const age of ['25 hours', '24 hours 1 minute', '23 hours', '1 minute'])
      await sql`insert into login_failures (email, client, failed_at) values (${email}, 'elsewhere', clock_timestamp() - ${age}::interval)`
    // A new app sweeps at its first login attempt (then at most once a minute), whoever it is for.
    const reply = await call('POST', '/auth/token', { json: { email: `someone-${unique()}@example.com`, password: 'not the password at all' }, token: null }, buildApp(sql))
    expect(reply.status).toBe(401)
    const left = () => sql<{ age: string }[]>`select (date_trunc('hour', clock_timestamp() - failed_at))::text as age from login_failures where email = ${email} order by failed_at`.then((rows) => rows.map((row) => row.age))
    expect(await settles(left, ['23:00:00', '00:00:00'])).toEqual(['23:00:00', '00:00:00'])
  })

  test('a refresh-token family is deleted once none of its tokens can be used; a living family keeps its retired tokens', async () => {
    const { sql } = await testDatabase()
    const [user] = await sql<{ id: string }[]>`insert into users (name, email, age) values ('Refresh Family', ${`family-${unique()}@example.com`}, 30) returning id`
    const dead = crypto.randomUUID()
    const living = crypto.randomUUID()
    const tokens = [
      [dead, '-2 days', true],
      [dead, '-1 second', false],
      [living, '-2 days', true], // retired long ago: its reuse must still revoke the family
      [living, '1 day', false],
    ] as const
    const hashes: Buffer[] = []
    for (const [family, expires, retired] of tokens) {
      const hash = Buffer.from(crypto.getRandomValues(new Uint8Array(32)))
      hashes.push(hash)
      await sql`insert into refresh_tokens (token_hash, family, user_id, expires_at, retired_at)
                values (${hash}, ${family}, ${user!.id}, clock_timestamp() + ${expires}::interval, ${retired ? sql`clock_timestamp()` : null})`
    }
    const reply = await call('POST', '/auth/refresh', { json: { refresh_token: 'not-a-token-we-issued' }, token: null }, buildApp(sql))
    expect(reply.status).toBe(401)
    const left = () => sql<{ family: string; n: number }[]>`select family::text, count(*)::int as n from refresh_tokens where user_id = ${user!.id} group by family`.then((rows) => rows.map((row) => ({ ...row })))
    expect(await settles(left, [{ family: living, n: 2 }])).toEqual([{ family: living, n: 2 }])
  })
})
