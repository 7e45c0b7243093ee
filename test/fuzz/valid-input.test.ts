/**
 * Property: any valid body is accepted, and what is read back (through the API and in the database)
 * is exactly what was stored: the trimmed name and email, the age, server-set id and timestamps.
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import type { User } from '../../src/users/schemas'
import { taggedEmail, validAge, validEmail, validName } from '../support/arbitraries'
import { testDatabase } from '../support/database'
import { fuzz } from '../support/fuzz'
import { call, createUser, ISO_UTC, unique } from '../support/http'

const TIMEOUT = 300_000

/** The row as the database holds it. */
const stored = async (id: number) => {
  const { sql } = await testDatabase()
  const [row] = await sql`select name, email, age from users where id = ${id}`
  return row
}

describe('fuzz: valid input', () => {
  test(
    'POST /users: any valid body is 201, and reading it back gives exactly what was stored',
    async () => {
      await fuzz(
        'POST /users, valid bodies',
        fc.asyncProperty(validName, validEmail, validAge, async (name, email, age) => {
          const address = taggedEmail(email, unique())
          const created = await call('POST', '/users', { json: { name: name.sent, email: address.sent, age } })
          expect(created.status).toBe(201)
          const user = created.body
          expect(created.headers.get('location')).toBe(`/users/${user.id}`)
          expect(user).toEqual({
            id: user.id,
            name: name.stored,
            email: address.stored,
            age,
            role: 'user',
            created_at: user.created_at,
            updated_at: user.created_at,
          })
          expect(user.created_at).toMatch(ISO_UTC)
          const read = await call('GET', `/users/${user.id}`)
          expect(read.status).toBe(200)
          expect(read.body).toEqual(user)
          expect(await stored(user.id)).toEqual({ name: name.stored, email: address.stored, age })
        }),
      )
    },
    TIMEOUT,
  )

  describe('PATCH /users/{id}', () => {
    let user: User
    beforeAll(async () => {
      user = await createUser()
    })

    test(
      'any valid change is 200 with the user changed in exactly those fields, and reads back so',
      async () => {
        const change = fc
          .record({ name: validName, email: validEmail, age: validAge }, { requiredKeys: [] })
          .filter((fields) => Object.keys(fields).length > 0)
        await fuzz(
          'PATCH /users/{id}, valid changes',
          fc.asyncProperty(change, async ({ name, email, age }) => {
            const address = email && taggedEmail(email, unique())
            const json = { ...(name && { name: name.sent }), ...(address && { email: address.sent }), ...(age !== undefined && { age }) }
            const reply = await call('PATCH', `/users/${user.id}`, { json })
            expect(reply.status).toBe(200)
            const expected = {
              ...user,
              ...(name && { name: name.stored }),
              ...(address && { email: address.stored }),
              ...(age !== undefined && { age }),
              updated_at: reply.body.updated_at,
            }
            expect(reply.body).toEqual(expected)
            expect(Date.parse(reply.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(user.updated_at))
            expect((await call('GET', `/users/${user.id}`)).body).toEqual(expected)
            expect(await stored(user.id)).toEqual({ name: expected.name, email: expected.email, age: expected.age })
            user = expected
          }),
        )
      },
      TIMEOUT,
    )
  })
})
