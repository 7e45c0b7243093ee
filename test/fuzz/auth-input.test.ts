/**
 * Properties on `/auth/*`: any body, of any content type, gets a documented 4xx (or 429 once an email
 * is throttled), never a 5xx, and no answer ever contains the password that was sent (one that
 * could be the service's own words is sent again disguised: it must not come back). (Every reply
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

/**
 * A request: its body is made from `fields` (as JSON or as a form) or is `raw`; `secret` names the
 * field holding the password, which must never come back.
 */
interface AuthRequest {
  encoding: 'json' | 'form' | 'raw'
  fields: Record<string, unknown>
  raw: string
  contentType: string | undefined
  secret?: 'password'
}

const authRequest: fc.Arbitrary<AuthRequest> = fc.oneof(
  fc.record({ email, password, extra: fc.option(anyJson) }).map(({ email, password, extra }) => ({
    encoding: 'json' as const,
    fields: extra === null ? { email, password } : { email, password, extra },
    raw: '',
    contentType: 'application/json',
    secret: 'password' as const,
  })),
  fc.record({ grant_type: fc.oneof(fc.constant('password'), text), username: email, password }).map((fields) => ({
    encoding: 'form' as const,
    fields,
    raw: '',
    contentType: 'application/x-www-form-urlencoded',
    secret: 'password' as const,
  })),
  fc.record({ refresh_token: fc.oneof(text, anyJson) }).map((fields) => ({ encoding: 'json' as const, fields, raw: '', contentType: 'application/json' })),
  fc.record({ raw: text, contentType: fc.option(fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data'), { nil: undefined }) }).map(
    ({ raw, contentType }) => ({ encoding: 'raw' as const, fields: {}, raw, contentType }),
  ),
)

/** The request's body, with its password replaced by `password` if given. */
const bodyOf = (request: AuthRequest, password?: string) => {
  const fields = password === undefined || !request.secret ? request.fields : { ...request.fields, [request.secret]: password }
  if (request.encoding === 'json') return JSON.stringify(fields)
  return request.encoding === 'form' ? new URLSearchParams(fields as Record<string, string>).toString() : request.raw
}

const SYMBOLS = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'
/**
 * Another password, each character changed within its kind (ROT13 for letters, digits moved by 5,
 * the next ASCII symbol; any other code point's last bit flipped), so that the service judges it
 * alike: what a reply says because of the password changes with it.
 */
const disguised = (password: string) =>
  Array.from(password, (c) => {
    if (/[a-z]/i.test(c)) return String.fromCharCode(((c.toLowerCase().charCodeAt(0) - 97 + 13) % 26) + (c <= 'Z' ? 65 : 97))
    if (/\d/.test(c)) return String((Number(c) + 5) % 10)
    const symbol = SYMBOLS.indexOf(c)
    return symbol >= 0 ? SYMBOLS[(symbol + 1) % SYMBOLS.length]! : String.fromCodePoint(c.codePointAt(0)! ^ 1)
  }).join('')

const send = (path: string, request: AuthRequest, password?: string) =>
  call('POST', path, { body: bodyOf(request, password), headers: request.contentType ? { 'content-type': request.contentType } : {}, token: null })

describe.skipIf(!AUTH_ON)('fuzz: /auth/*', () => {
  for (const path of ['/auth/token', '/auth/refresh', '/auth/logout'])
    test(
      `POST ${path}: any body is a 4xx problem, never a 5xx, never echoing a password`,
      async () => {
        await fuzz(
          `POST ${path}, any body`,
          fc.asyncProperty(authRequest, async (request) => {
            const reply = await send(path, request)
            expect([400, 401, 413, 415, 422, 429]).toContain(reply.status)
            expect(reply.headers.get('content-type')).toBe('application/problem+json')
            expect(reply.headers.get('cache-control')).toBe('no-store')
            const secret = request.secret && String(request.fields[request.secret])
            if (!secret || secret.length < 4 || !reply.text.includes(secret)) return
            // A short password can be a word the service uses anyway ("name" in "username"): it was
            // echoed only if a password disguised alike comes back too.
            const other = disguised(secret)
            expect(other).not.toBe(secret)
            expect((await send(path, request, other)).text).not.toContain(other)
          }),
          RUNS,
        )
      },
      TIMEOUT,
    )
})
