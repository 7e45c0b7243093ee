/**
 * Properties on `/auth/*`: any body, of any content type, gets a documented 4xx (or 429 once an email
 * is throttled), never a 5xx, and no answer ever contains the password that was sent. (Every reply
 * is also checked against the OpenAPI document by `call`.) Fewer runs than the users properties: a
 * login that reaches the password check costs one argon2id hash.
 */
import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { validEmail } from '../support/arbitraries'
import { FC_RUNS, fuzz } from '../support/fuzz'
import { AUTH_ON, call } from '../support/http'

const RUNS = Math.max(1, Math.floor(FC_RUNS / 10))
const TIMEOUT = 300_000

const text = fc.string({ unit: 'binary', maxLength: 200 })
const password = fc.oneof(text, fc.string({ minLength: 8, maxLength: 40 }).map((value) => `pw-${value}`))
const email = fc.oneof(validEmail.map(({ address }) => `fuzz.${address}`), text)
const anyJson = fc.jsonValue({ maxDepth: 3 })

/** A request body and its content type; `secret` is what must never come back. */
const authRequest = fc.oneof(
  fc.record({ email, password, extra: fc.option(anyJson) }).map(({ email, password, extra }) => ({
    body: JSON.stringify(extra === null ? { email, password } : { email, password, extra }),
    contentType: 'application/json' as string | undefined,
    secret: password,
  })),
  fc.record({ grant_type: fc.oneof(fc.constant('password'), text), username: email, password }).map((fields) => ({
    body: new URLSearchParams(fields).toString(),
    contentType: 'application/x-www-form-urlencoded' as string | undefined,
    secret: fields.password,
  })),
  fc.record({ refresh_token: fc.oneof(text, anyJson) }).map((fields) => ({ body: JSON.stringify(fields), contentType: 'application/json' as string | undefined, secret: '' })),
  fc.record({ body: text, contentType: fc.option(fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data'), { nil: undefined }) }).map(
    ({ body, contentType }) => ({ body, contentType, secret: '' }),
  ),
)

describe.skipIf(!AUTH_ON)('fuzz: /auth/*', () => {
  for (const path of ['/auth/token', '/auth/refresh', '/auth/logout'])
    test(
      `POST ${path}: any body is a 4xx problem, never a 5xx, never echoing a password`,
      async () => {
        await fuzz(
          `POST ${path}, any body`,
          fc.asyncProperty(authRequest, async (request) => {
            const reply = await call('POST', path, { body: request.body, headers: request.contentType ? { 'content-type': request.contentType } : {}, token: null })
            expect([400, 401, 413, 415, 422, 429]).toContain(reply.status)
            expect(reply.headers.get('content-type')).toBe('application/problem+json')
            expect(reply.headers.get('cache-control')).toBe('no-store')
            if (request.secret.length >= 4) expect(reply.text).not.toContain(request.secret)
          }),
          RUNS,
        )
      },
      TIMEOUT,
    )
})
