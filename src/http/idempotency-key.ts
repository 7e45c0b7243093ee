/**
 * The `Idempotency-Key` request header (draft-ietf-httpapi-idempotency-key-header): 1–255
 * printable ASCII characters, bare or in the draft's quoted form (a structured-field string), and
 * the fingerprint of the body it came with.
 */
import type { TSchema } from 'elysia'
import { MAX_FIELD_ERRORS, madeFromRequest, type FieldError } from './problem'
import { problems } from './problems'
import { schemaViolations } from './validation-errors'

/**
 * A request that carries a valid key: the key, the SHA-256 of its body as parsed, and the body's
 * password apart. The fingerprint is kept for a day, and a fast hash of a body whose other fields
 * the kept answer shows would let whoever holds it guess the password: it only says that there
 * was one, and the password is compared through an argon2id hash.
 */
export interface IdempotencyKey {
  key: string
  fingerprint: string
  /**
   * The password in an exact ASCII form (`\` and every non-ASCII UTF-16 unit escaped): two
   * passwords have the same form only if they are the same JSON string (hashing normalizes to
   * NFKC, which alone would merge some). `asSent` when the form is the password itself.
   */
  password?: { exact: string; asSent: boolean }
}

const PRINTABLE = /^[\x20-\x7e]{1,255}$/
// An sf-string's inside: printable ASCII but `"` and `\`, which come escaped.
const QUOTED = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/
const INVALID = [{ field: 'Idempotency-Key', message: 'must be 1–255 printable ASCII characters, bare or in double quotes' }]

/** The key a header names (unquoted); undefined when it is malformed. */
const parseKey = (header: string) => {
  const quoted = QUOTED.exec(header)
  const key = quoted ? quoted[1]!.replace(/\\(["\\])/g, '$1') : header
  return PRINTABLE.test(key) ? key : undefined
}

/** A JSON value written with its object keys sorted: equal for equal values, whatever the order and white space sent. */
const canonical = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>
    return `{${Object.keys(object)
      .sort()
      .map((name) => `${JSON.stringify(name)}:${canonical(object[name])}`)
      .join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

const exactForm = (password: string) =>
  password.replace(/[\\\u0080-\uffff]/g, (unit) => (unit === '\\' ? '\\\\' : `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`))

/** The fingerprint and password of a body: a non-empty string `password` is left out of the hash, which notes that it was there. */
const fingerprintOf = (body: unknown): Omit<IdempotencyKey, 'key'> => {
  const hash = (text: string) => new Bun.CryptoHasher('sha256').update(text).digest('hex')
  if (body === null || typeof body !== 'object' || Array.isArray(body) || !('password' in body) || typeof body.password !== 'string' || body.password === '')
    return { fingerprint: hash(canonical(body)) }
  const { password, ...rest } = body
  const exact = exactForm(password)
  // A canonical text has no raw line break: no body's text ends like this.
  return { fingerprint: hash(`${canonical(rest)}\n+password`), password: { exact, asSent: exact === password } }
}

const keys = new WeakMap<Request, IdempotencyKey>()

/**
 * Reads the header of a request whose body was parsed (before it is validated, so an invalid body
 * has a fingerprint too): a malformed key is a 422 naming the header and, as the body is not
 * validated yet, every violation of the body too: against `bodySchema`, then those `alsoWrong`
 * finds (rules a schema cannot state, of the fields the schema did not describe), at most
 * `MAX_FIELD_ERRORS` in all.
 */
export const readIdempotencyKey = async (request: Request, body: unknown, bodySchema: TSchema, alsoWrong?: (body: unknown, described: ReadonlySet<string>) => Promise<FieldError[]>) => {
  const header = request.headers.get('idempotency-key')
  if (header === null) return
  const key = parseKey(header)
  if (key === undefined) {
    const violations = schemaViolations(bodySchema, body)
    const more = (await alsoWrong?.(body, new Set(violations.map(({ field }) => field)))) ?? []
    throw madeFromRequest(problems.invalidRequest([...[...violations, ...more].slice(0, MAX_FIELD_ERRORS - INVALID.length), ...INVALID]))
  }
  keys.set(request, { key, ...fingerprintOf(body) })
}

/** The key `readIdempotencyKey` found on `request`; undefined without one. */
export const idempotencyKeyOf = (request: Request): IdempotencyKey | undefined => keys.get(request)
