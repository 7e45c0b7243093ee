/**
 * fast-check arbitraries for the users API: valid inputs with what the service must store, and
 * invalid or odd inputs with the answer the contract requires. Each invalid value is invalid by
 * construction, and it says which field is at fault, so a property can demand the exact answer.
 */
import fc from 'fast-check'
import { trimWhiteSpace } from '../../src/schema/strict-types'

export const MAX_ID = Number.MAX_SAFE_INTEGER
const BODY_FIELDS = ['name', 'email', 'age'] as const
export type BodyField = (typeof BODY_FIELDS)[number]

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
/** White space the service trims from names and emails: what JavaScript's `trim()` removes, and NEL. */
const WHITE_SPACE = [' ', '\t', '\n', '\r', '\v', '\f', '\u0085', '\u00a0', '\u1680', '\u2000', '\u2028', '\u2029', '\u202f', '\u3000', '\ufeff']
const padding = fc.array(fc.constantFrom(...WHITE_SPACE), { maxLength: 3 }).map((chars) => chars.join(''))

const codePoints = (text: string) => [...text].length

// ---------------------------------------------------------------------------------------------
// Valid values

/** A name the contract accepts: `sent` (maybe padded with white space) and `stored` (trimmed). */
export const validName = fc
  .tuple(
    padding,
    fc.oneof(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 100 }),
      fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 100 }),
    ),
    padding,
  )
  .map(([lead, core, trail]) => ({ sent: `${lead}${core}${trail}`, stored: trimWhiteSpace(`${lead}${core}${trail}`) }))
  .filter(({ stored }) => stored.length > 0 && codePoints(stored) <= 100 && !CONTROL.test(stored))

/** An email the contract accepts (fast-check's RFC 5322 dot-atom addresses, in any case), padded. */
export const validEmail = fc
  .tuple(padding, fc.emailAddress(), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), padding)
  .filter(([, address]) => address.length <= 254 - 14)
  .map(([lead, address, upper, trail]) => ({
    lead,
    address: [...address].map((char, i) => (upper[i % upper.length] ? char.toUpperCase() : char)).join(''),
    trail,
  }))

export type ValidEmail = typeof validEmail extends fc.Arbitrary<infer T> ? T : never

/** The email with `tag` in its local part, so no other run's address can collide with it. */
export const taggedEmail = ({ lead, address, trail }: ValidEmail, tag: string) => {
  const at = address.lastIndexOf('@')
  const stored = `${address.slice(0, at)}.${tag}${address.slice(at)}`
  return { sent: `${lead}${stored}${trail}`, stored }
}

export const validAge = fc.integer({ min: 1, max: 120 })

// ---------------------------------------------------------------------------------------------
// Invalid values. A `Fault` is the raw JSON text of a field's value and what is wrong with it:
// `schema` faults are a 422 naming the field; `range` (age outside 1–120) is a business rule, 400.

export interface Fault {
  raw: string
  kind: 'schema' | 'range'
}

const schemaFault = (value: unknown): Fault => ({ raw: JSON.stringify(value), kind: 'schema' })

const notAString = fc.jsonValue({ maxDepth: 3 }).filter((value) => typeof value !== 'string')

/** Strings no field accepts: empty, white space only, control characters, lone surrogates. */
const brokenText = fc.oneof(
  fc.constantFrom('', ' ', '\t\n', '\u3000\ufeff'),
  fc
    .tuple(
      fc.string({ minLength: 1, maxLength: 5 }),
      fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)),
      fc.string({ minLength: 1, maxLength: 5 }),
    )
    .map(([a, control, b]) => `x${a}${control}${b}x`),
  fc.constantFrom('\u007f', 'a\u0000b', 'a\u0085b', 'a\u009fb', '\u0085', 'a\ud800b', '\udfff', 'half \ud83d'),
)

const longText = (min: number, max: number) =>
  fc
    .tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }), fc.integer({ min, max }))
    .map(([unit, length]) => unit.repeat(Math.ceil(length / codePoints(unit))))

const badName: fc.Arbitrary<Fault> = fc.oneof(
  notAString.map(schemaFault),
  brokenText.map(schemaFault),
  longText(101, 400)
    .filter((text) => codePoints(trimWhiteSpace(text)) > 100)
    .map(schemaFault),
  // Very long: up to 60,000 characters, near the body limit (and over it with the JSON escaping of some).
  longText(10_000, 60_000).map(schemaFault),
)

const badEmail: fc.Arbitrary<Fault> = fc.oneof(
  notAString.map(schemaFault),
  brokenText.map(schemaFault),
  fc
    .string({ maxLength: 60 })
    .filter((text) => !text.includes('@'))
    .map(schemaFault),
  fc.emailAddress().chain((address) => {
    const [local, domain] = [address.slice(0, address.lastIndexOf('@')), address.slice(address.lastIndexOf('@') + 1)]
    return fc
      .constantFrom(
        `${local}@`,
        `@${domain}`,
        `${local}@@${domain}`,
        `.${address}`,
        `${local}.@${domain}`,
        `${local}..x@${domain}`,
        `${local} x@${domain}`,
        `${local}@${domain.split('.')[0]}`,
        `${local}@${domain}.`,
        `${local}@-${domain}`,
        `${local}é@${domain}`,
        `${local}@${domain}\u0000`,
        `${'a'.repeat(255 - domain.length)}@${domain}`,
      )
      .map(schemaFault)
  }),
)

/** A raw JSON number, judged by what it parses to (`1e2` is the integer 100). */
const rawNumber = (raw: string): Fault | undefined => {
  const value = JSON.parse(raw) as number
  if (!Number.isInteger(value)) return { raw, kind: 'schema' }
  return value < 1 || value > 120 ? { raw, kind: 'range' } : undefined
}

const badAge: fc.Arbitrary<Fault> = fc.oneof(
  fc
    .oneof(notAString, fc.string({ maxLength: 10 }))
    .filter((value) => typeof value !== 'number')
    .map(schemaFault),
  fc.integer({ min: 1, max: 120 }).map((age) => schemaFault(String(age))),
  fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }).map(schemaFault),
  fc
    .oneof(fc.integer({ max: 0 }), fc.integer({ min: 121 }), fc.constantFrom(-0, 1e20, -1e20, MAX_ID, 2 ** 53 + 2, 1e300))
    .map((age): Fault => ({ raw: JSON.stringify(age), kind: 'range' })),
  fc
    .constantFrom(
      '1e400',
      '-1e400',
      '0.0',
      '-0',
      '1.5e1',
      '12.5',
      '1E-7',
      '121.0',
      '100000000000000000000000',
      '9007199254740993',
      '0.5e1',
      '-1',
    )
    .map(rawNumber)
    .filter((fault): fault is Fault => fault !== undefined),
)

const FAULTS: Record<BodyField, fc.Arbitrary<Fault>> = { name: badName, email: badEmail, age: badAge }

/** Keys that are not fields: the dangerous ones, the server's own, near misses, anything. */
const unknownKey = fc
  .oneof(
    fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'valueOf',
      'hasOwnProperty',
      '__defineGetter__',
      'id',
      'created_at',
      'updated_at',
      'Name',
      'EMAIL',
      'age ',
      ' name',
      'body',
      '',
      'a/b',
      '~0',
    ),
    fc.string({ unit: 'binary', maxLength: 20 }),
  )
  .filter((key) => !(BODY_FIELDS as readonly string[]).includes(key))

const unknownValue = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
  fc.constant('{"polluted":true,"__proto__":{"polluted":true}}'),
  // Nesting around the parser's limit of 32 levels (the body itself is one more).
  fc.integer({ min: 1, max: 40 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  fc.integer({ min: 1, max: 40 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
)

// ---------------------------------------------------------------------------------------------
// Whole requests

const JSON_CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'Application/JSON',
  'application/json;charset=UTF-16',
  'application/merge-patch+json',
  'application/problem+json',
  'application/vnd.users.v1+json; q=1',
]
const OTHER_CONTENT_TYPES = [
  'text/plain',
  'text/plain;charset=UTF-8',
  'text/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/jsonx',
  'application/json-patch',
  'application/+json',
  'application/xml',
  'json',
  '*/*',
  'application/*',
  'application',
]

/** The answer the contract requires. `fields` are the fields a 422 (or a 400's `errors`) names. */
export interface Expected {
  status: 400 | 413 | 415 | 422
  fields?: string[]
}

export interface OddRequest {
  /** Absent: sent as bytes, without Content-Type. */
  contentType?: string
  body: string | Uint8Array
  expected: Expected
  /** For the report of a failure. */
  why: string
}

const rawJsonObject = (entries: [string, string][]) => `{${entries.map(([key, raw]) => `${JSON.stringify(key)}:${raw}`).join(',')}}`

/**
 * A JSON object body that breaks the schema or the age rule: for a create (`required`) or a change.
 * `valid` gives the fields of a valid body to start from.
 */
const brokenObject = (required: boolean, valid: fc.Arbitrary<Partial<Record<BodyField, unknown>>>) =>
  fc
    .record({
      start: valid,
      missing: required ? fc.subarray([...BODY_FIELDS]) : fc.constant([] as BodyField[]),
      broken: fc.record({ name: fc.option(badName), email: fc.option(badEmail), age: fc.option(badAge) }),
      unknown: fc.uniqueArray(fc.tuple(unknownKey, unknownValue), { maxLength: 3, selector: ([key]) => key }),
      empty: required ? fc.constant(false) : fc.boolean(),
    })
    .map(({ start, missing, broken, unknown, empty }) => {
      const entries = new Map<string, string>()
      const schemaFields = new Set<string>()
      let range = false
      if (!empty) {
        for (const field of BODY_FIELDS) {
          const fault = broken[field]
          if (fault) {
            entries.set(field, fault.raw)
            if (fault.kind === 'schema') schemaFields.add(field)
            else range = true
          } else if (field in start) entries.set(field, JSON.stringify(start[field]))
        }
        for (const field of missing) {
          entries.delete(field)
          schemaFields.add(field)
          if (field === 'age') range = false
        }
        for (const [key, raw] of unknown) {
          entries.set(key, raw)
          schemaFields.add(key)
        }
      }
      if (!required && entries.size === 0) schemaFields.add('body')
      return { rawBody: rawJsonObject([...entries]), schemaFields, range }
    })
    // The valid body it started from, unchanged, is not an invalid input.
    .filter(({ schemaFields, range }) => schemaFields.size > 0 || range)

const depthOf = (value: unknown): number =>
  typeof value === 'object' && value !== null ? 1 + Math.max(0, ...Object.values(value).map(depthOf)) : 0

/**
 * What the contract answers to this body sent as JSON: the parser's 413 and 400 first, then the
 * schema's 422, then the age rule's 400.
 */
const judge = (rawBody: string, schemaFields: Set<string>, range: boolean, limit: number): Expected => {
  if (Buffer.byteLength(rawBody) > limit) return { status: 413 }
  const depth = depthOf(JSON.parse(rawBody))
  if (depth > 32) return { status: 400 }
  if (schemaFields.size > 0) return { status: 422, fields: [...schemaFields].sort() }
  if (range) return { status: 400, fields: ['age'] }
  throw new Error(`not an invalid body: ${rawBody}`)
}

/** Bodies that are not JSON, or not a JSON object. */
const notAnObject = (limit: number): fc.Arbitrary<OddRequest> =>
  fc.oneof(
    fc
      .jsonValue({ maxDepth: 3 })
      .filter((value) => typeof value !== 'object' || value === null || Array.isArray(value))
      .map((value) => {
        const body = JSON.stringify(value)
        const expected: Expected =
          Buffer.byteLength(body) > limit ? { status: 413 } : depthOf(value) > 32 ? { status: 400 } : { status: 422, fields: ['body'] }
        return { contentType: 'application/json', body, expected, why: 'a JSON value that is not an object' }
      }),
    fc
      .string({ maxLength: 200 })
      .filter((body) => {
        try {
          // The service decodes UTF-8, which drops a byte order mark, before parsing.
          JSON.parse(body.replace(/^\ufeff/, ''))
          return false
        } catch {
          return true
        }
      })
      .map((body) => ({ contentType: 'application/json', body, expected: { status: 400 } as Expected, why: 'not JSON' })),
    fc
      .constantFrom(
        { body: '', why: 'empty' },
        { body: '{"name":"Ada"', why: 'truncated' },
        { body: '{"name":"Ada",}', why: 'a trailing comma' },
        { body: "{'name':'Ada'}", why: 'single quotes' },
        { body: '{"age":NaN}', why: 'NaN' },
        { body: '{"age":0x10}', why: 'hex' },
        { body: `${'['.repeat(20_000)}${']'.repeat(20_000)}`, why: '20,000 levels deep' },
        { body: `{"a":${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}}`, why: '5,000 objects deep' },
      )
      .map(({ body, why }) => ({ contentType: 'application/json', body, expected: { status: 400 } as Expected, why })),
    fc.tuple(fc.string({ maxLength: 20 }), fc.constantFrom(0xff, 0xc3, 0xed, 0x80)).map(([before, byte]) => ({
      contentType: 'application/json',
      body: new Uint8Array([...Buffer.from(`{"name":"${before.replace(/["\\]/g, '')}`), byte, ...Buffer.from('","age":3}')]),
      expected: { status: 400 } as Expected,
      why: 'invalid UTF-8',
    })),
  )

/**
 * Any invalid or odd body for a create (`required`) or a change, sent with any content type, and
 * the answer it must get.
 */
export const oddBody = (
  required: boolean,
  valid: fc.Arbitrary<Partial<Record<BodyField, unknown>>>,
  limit: number,
): fc.Arbitrary<OddRequest> =>
  fc
    .tuple(
      fc.oneof(
        {
          weight: 4,
          arbitrary: brokenObject(required, valid).map(({ rawBody, schemaFields, range }) => ({
            contentType: 'application/json',
            body: rawBody,
            expected: judge(rawBody, schemaFields, range, limit),
            why: 'an invalid object',
          })),
        },
        { weight: 1, arbitrary: notAnObject(limit) },
      ),
      fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...JSON_CONTENT_TYPES) },
        { weight: 1, arbitrary: fc.option(fc.constantFrom(...OTHER_CONTENT_TYPES), { nil: undefined }) },
      ),
    )
    .map(([request, contentType]): OddRequest => {
      const sentAsJson = contentType !== undefined && JSON_CONTENT_TYPES.includes(contentType)
      if (sentAsJson) return { ...request, contentType }
      // Not sent as JSON: 415 whatever the body. Without a type it goes as bytes, which carry none.
      return contentType === undefined
        ? {
            body: typeof request.body === 'string' ? Buffer.from(request.body) : request.body,
            expected: { status: 415 },
            why: `${request.why}, without Content-Type`,
          }
        : { ...request, contentType, expected: { status: 415 }, why: `${request.why}, as ${contentType}` }
    })

// ---------------------------------------------------------------------------------------------
// Path and query values

const isValidId = (text: string) => /^[0-9]+$/.test(text) && Number(text) >= 1 && Number(text) <= MAX_ID

/**
 * A path segment that is not a valid id, percent-encoded as a client would send it. Never `.` or
 * `..`, which a URL resolves away (they name another path).
 */
export const oddId = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.string({ unit: fc.constantFrom(...'0123456789+-.eExX ,_'), minLength: 1, maxLength: 25 }),
    fc.bigInt({ min: 2n ** 53n, max: 10n ** 40n }).map(String),
    fc.bigInt({ min: -(10n ** 20n), max: 0n }).map(String),
    fc.constantFrom(
      '0',
      '00',
      '-0',
      '+1',
      '1.0',
      '1e2',
      '0x10',
      ' 1',
      '1 ',
      '１',
      '٣',
      'NaN',
      'Infinity',
      'null',
      'true',
      '[1]',
      '{}',
      '%00',
      '%zz',
      '%',
      'users',
      '1;2',
      '1,2',
      '9007199254740992',
    ),
  )
  .filter((id) => id !== '' && !isValidId(id) && id.isWellFormed())
  .map(encodeURIComponent)
  .filter((segment) => !/^(?:\.|%2e){1,2}$/i.test(segment))

/** The rule of each list parameter, as the contract has it. */
const QUERY_RULES: Record<string, (value: string) => boolean> = {
  limit: (value) => /^[0-9]+$/.test(value) && Number(value) >= 1 && Number(value) <= 1000,
  after: (value) => /^[0-9]+$/.test(value) && Number(value) <= MAX_ID,
  min_age: (value) => /^[0-9]+$/.test(value) && Number(value) <= MAX_ID,
  max_age: (value) => /^[0-9]+$/.test(value) && Number(value) <= MAX_ID,
  name: (value) => codePoints(value) >= 1 && codePoints(value) <= 100 && !CONTROL.test(value),
}

const integerText = fc.oneof(
  fc.nat({ max: 2000 }).map(String),
  fc.string({ unit: fc.constantFrom(...'0123456789+-.eE x'), maxLength: 22 }),
  fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String),
  fc.constantFrom('', '0', '1000', '1001', '007', '9007199254740991', '9007199254740992', '-1', '1e2', '2.5', '10x', ' 1', '１'),
)

/** One query parameter and whether its value is valid (`undefined`: the service ignores it). */
export interface QueryParameter {
  key: string
  value: string
  valid?: boolean
}

export const queryParameter: fc.Arbitrary<QueryParameter> = fc.oneof(
  fc
    .tuple(fc.constantFrom('limit', 'after', 'min_age', 'max_age'), integerText)
    .map(([key, value]) => ({ key, value, valid: QUERY_RULES[key]!(value) })),
  fc
    .oneof(fc.string({ unit: 'binary', maxLength: 120 }), longText(90, 110), brokenText)
    .filter((value) => value.isWellFormed())
    .map((value) => ({ key: 'name', value, valid: QUERY_RULES.name!(value) })),
  fc
    .tuple(padding, fc.emailAddress(), padding)
    .map(([lead, address, trail]) => ({ key: 'email', value: `${lead}${address}${trail}`, valid: true })),
  badEmail
    .map((fault) => JSON.parse(fault.raw) as unknown)
    .filter((value): value is string => typeof value === 'string' && value.isWellFormed())
    .map((value) => ({ key: 'email', value, valid: false })),
  fc
    .tuple(unknownKey, fc.string({ maxLength: 20 }))
    .filter(([key, value]) => key.isWellFormed() && value.isWellFormed() && !(key in QUERY_RULES) && key !== 'email')
    .map(([key, value]) => ({ key, value })),
)
