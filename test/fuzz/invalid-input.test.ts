/**
 * Properties: any invalid or odd input (wrong types, out-of-range and huge numbers, NUL and control
 * characters, very long strings, deep nesting, arrays, `__proto__`/`constructor` keys, odd content
 * types, odd path and query values) gets the documented 4xx problem+json the contract requires,
 * naming exactly the fields at fault; never a 5xx; and nothing is created, changed or deleted.
 * (Every reply is also checked against the OpenAPI document by `call`.)
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import type { User } from '../../src/users/schemas'
import { MAX_ID, oddBody, oddId, queryParameter, validAge, validEmail, validName, type OddRequest } from '../support/arbitraries'
import { fuzz } from '../support/fuzz'
import { BODY_LIMIT, call, createUser, expectProblem, suiteAdminIds, type Reply } from '../support/http'

const TIMEOUT = 300_000

/** The fields of a valid body, for `oddBody` to break. */
const validFields = (required: boolean) =>
  fc.record(
    {
      name: validName.map(({ sent }) => sent),
      // Never one that could be taken: these bodies are invalid, so nothing is created anyway.
      email: validEmail.map(({ address }) => `odd.${address}`),
      age: validAge,
    },
    { requiredKeys: required ? ['name', 'email', 'age'] : [] },
  )

const send = (method: string, path: string, request: OddRequest) =>
  call(method, path, { body: request.body, headers: request.contentType === undefined ? {} : { 'content-type': request.contentType } })

/** The reply is the problem the contract requires, naming exactly the fields at fault. */
const expectAnswer = (reply: Reply, request: OddRequest) => {
  const body = expectProblem(reply, request.expected.status)
  if (request.expected.fields) expect((body.errors ?? []).map((error) => error.field).sort()).toEqual(request.expected.fields)
}

describe('fuzz: invalid and odd input', () => {
  // The newest user before the properties run: any user after it was created by one of them.
  let sentinel: User
  beforeAll(async () => {
    sentinel = await createUser()
  })

  // The suite's own admin, made again when a request deleted it (`DELETE /users/1`...), is not one.
  const expectNothingCreated = async () => {
    const after = await call('GET', `/users?after=${sentinel.id}&limit=100`)
    expect(after.status).toBe(200)
    expect((after.body as User[]).filter((user) => !suiteAdminIds.has(user.id))).toEqual([])
  }

  test(
    'POST /users: any invalid body or content type is the required 4xx, and nothing is created',
    async () => {
      await fuzz(
        'POST /users, invalid bodies',
        fc.asyncProperty(oddBody(true, validFields(true), BODY_LIMIT), async (request) => {
          expectAnswer(await send('POST', '/users', request), request)
          await expectNothingCreated()
        }),
      )
    },
    TIMEOUT,
  )

  test(
    'PATCH /users/{id}: any invalid change is the required 4xx, and the user is unchanged',
    async () => {
      await fuzz(
        'PATCH /users/{id}, invalid bodies',
        fc.asyncProperty(oddBody(false, validFields(false), BODY_LIMIT), async (request) => {
          expectAnswer(await send('PATCH', `/users/${sentinel.id}`, request), request)
          expect((await call('GET', `/users/${sentinel.id}`)).body).toEqual(sentinel)
        }),
      )
    },
    TIMEOUT,
  )

  const ID_RULE = [{ field: 'id', message: 'must be an integer from 1 to 9007199254740991, written in decimal digits' }]

  test.each(['GET', 'PATCH', 'DELETE'])(
    '%s /users/{id}: any id that is not one is 422 naming the id; nothing changes',
    async (method) => {
      await fuzz(
        `${method} /users/{id}, odd ids`,
        fc.asyncProperty(oddId, async (id) => {
          const reply = await call(method, `/users/${id}`, method === 'PATCH' ? { json: { age: 99 } } : {})
          expect(expectProblem(reply, 422).errors).toEqual(ID_RULE)
          if (method !== 'GET') expect((await call('GET', `/users/${sentinel.id}`)).body).toEqual(sentinel)
        }),
      )
    },
    TIMEOUT,
  )

  test(
    'GET /users: any query is 200, or 422 naming exactly the malformed parameters (the last of a repeated one counts)',
    async () => {
      await fuzz(
        'GET /users, odd queries',
        fc.asyncProperty(fc.array(queryParameter, { maxLength: 8 }), async (parameters) => {
          const query = parameters.map(({ key, value }) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).join('&')
          const last = new Map(parameters.filter(({ valid }) => valid !== undefined).map((parameter) => [parameter.key, parameter]))
          const malformed = [...last.values()]
            .filter(({ valid }) => !valid)
            .map(({ key }) => key)
            .sort()
          const reply = await call('GET', `/users?${query}`)
          if (malformed.length > 0) {
            expect(
              expectProblem(reply, 422)
                .errors!.map((error) => error.field)
                .sort(),
            ).toEqual(malformed)
            return
          }
          expect(reply.status).toBe(200)
          const filters = Object.fromEntries([...last].map(([key, { value }]) => [key, value]))
          const limit = filters.limit === undefined ? 100 : Number(filters.limit)
          expect(reply.body.length).toBeLessThanOrEqual(limit)
          for (const user of reply.body as User[]) {
            if (filters.after !== undefined) expect(user.id).toBeGreaterThan(Number(filters.after))
            if (filters.min_age !== undefined) expect(user.age).toBeGreaterThanOrEqual(Number(filters.min_age))
            if (filters.max_age !== undefined) expect(user.age).toBeLessThanOrEqual(Number(filters.max_age))
            if (filters.email !== undefined) expect(user.email.toLowerCase()).toBe(filters.email.trim().toLowerCase())
          }
        }),
      )
    },
    TIMEOUT,
  )

  test(
    'any method on any path: a documented answer, never a 5xx, nothing created',
    async () => {
      const segment = fc.oneof(fc.constantFrom('users', 'readyz', '', '1', String(MAX_ID), 'docs', 'openapi.json', 'x'), oddId)
      await fuzz(
        'any method and path',
        fc.asyncProperty(
          fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND', 'PURGE'),
          fc.array(segment, { minLength: 1, maxLength: 4 }),
          async (method, segments) => {
            // The body is no user (an empty object is not one), so nothing can be created or changed.
            const reply = await call(method, `/${segments.join('/')}`, ['GET', 'HEAD'].includes(method) ? {} : { json: {} })
            expect(reply.status).toBeLessThan(500)
            await expectNothingCreated()
          },
        ),
      )
    },
    TIMEOUT,
  )
})
