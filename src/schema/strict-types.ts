/**
 * Strict `t` types for what Elysia's built-ins cannot say:
 * - `t.Integer` also accepts `"30"`, `"1e2"` and `"0x10"`; a JSON integer here is a JSON integer.
 * - `t.String({ maxLength })` counts UTF-16 units; the rules count code points after trimming.
 * - query and path integers must be plain decimal digits.
 *
 * Each is a TypeBox kind checked by a registered function. Every JSON Schema keyword a type puts
 * in the document (`minLength`, `maximum`, `pattern`, `format`, ...) is one its function enforces;
 * a keyword it could not enforce is refused when the schema is made, so the document never
 * promises a rule the service does not keep.
 */
import { Kind, TypeRegistry } from '@sinclair/typebox'
import { t } from 'elysia'

/**
 * The HTML standard's valid e-mail address, with a dot required in the domain and the local part a
 * dot-atom (no leading, trailing or doubled dot): what `format: email` means to JSON Schema
 * validators, so clients generated from the OpenAPI document accept every address we return.
 */
const EMAIL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/
// Control characters (C0, DEL and C1) cannot be stored faithfully (PostgreSQL rejects NUL) and are
// never intended: C1 ones are mostly text decoded with the wrong charset.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
/** `CONTROL` as the document's `pattern`: what every strict text enforces. */
export const NO_CONTROL_CHARACTERS = '^[^\\u0000-\\u001F\\u007F-\\u009F]*$'
// A password's rule, from before C1 counted: a password set then may hold C1, and must still be tried.
const C0_CONTROL = /[\u0000-\u001f\u007f]/
const NO_C0_CONTROL_CHARACTERS = '^[^\\u0000-\\u001F\\u007F]*$'
// What `trim()` removes, and NEL (U+0085), Unicode white space it keeps. (A scan: a pattern
// anchored at the end backtracks over a long run of inner spaces.)
const isWhiteSpace = (unit: string) => unit === '\u0085' || unit.trim() === ''

/** `text` without the white space around it (what `trim()` removes, and NEL). */
export const trimWhiteSpace = (text: string) => {
  let [start, end] = [0, text.length]
  while (start < end && isWhiteSpace(text[start]!)) start++
  while (end > start && isWhiteSpace(text[end - 1]!)) end--
  return start === 0 && end === text.length ? text : text.slice(start, end)
}
const DIGITS = /^[0-9]+$/
const INT32_MAX = 2 ** 31 - 1

/**
 * Marks what the document must not see. Symbols, like `Kind`, stay out of the OpenAPI document,
 * where an unknown keyword makes it invalid.
 */
const Trim = Symbol.for('users-api/trim')
const Nfkc = Symbol.for('users-api/nfkc')
const C0Only = Symbol.for('users-api/c0-only')
const OutOfRange = Symbol.for('users-api/out-of-range')

/** What a failed range check of a strict integer means: a schema violation (422) or a business rule (400). */
export type RangeRule = 'schema' | 'business'

interface Described {
  description?: string
  example?: unknown
}

interface TextRule extends Described {
  minLength: number
  maxLength: number
  /** The rule applies to the trimmed text, and the handler receives it trimmed. */
  trim?: boolean
  /** The length counts the text's NFKC form (a password's: see `../auth/passwords`); the handler receives it as sent. */
  nfkc?: boolean
  /** Only C0 and DEL count as control characters (a password's rule: see `C0_CONTROL`). */
  controls?: 'c0'
  format?: 'email'
}

interface IntegerRule extends Described {
  minimum: number
  maximum: number
}

const codePoints = (value: string) => {
  let count = 0
  for (const _ of value) count++
  return count
}

const inRange = (value: number, schema: Record<PropertyKey, any>) => value >= schema.minimum && value <= schema.maximum

TypeRegistry.Set<Record<PropertyKey, any>>('StrictText', (schema, value) => {
  if (typeof value !== 'string' || !value.isWellFormed()) return false
  const text = schema[Trim] ? trimWhiteSpace(value) : value
  if ((schema[C0Only] ? C0_CONTROL : CONTROL).test(text)) return false
  const length = codePoints(schema[Nfkc] ? text.normalize('NFKC') : text)
  if (length < schema.minLength || length > schema.maxLength) return false
  return schema.format !== 'email' || EMAIL.test(text)
})

TypeRegistry.Set<Record<PropertyKey, any>>('StrictInteger', (schema, value) => Number.isInteger(value) && inRange(value as number, schema))

TypeRegistry.Set<Record<PropertyKey, any>>('DecimalInteger', (schema, value) => typeof value === 'string' && DIGITS.test(value) && inRange(Number(value), schema))

TypeRegistry.Set<Record<PropertyKey, any>>('StrictEnum', (schema, value) => typeof value === 'string' && (schema.enum as string[]).includes(value))

/** Refuses keywords a strict type would put in the document without enforcing them. */
const onlyKnown = (kind: string, options: object, known: readonly string[]) => {
  const unknown = Object.keys(options).filter((key) => !known.includes(key))
  if (unknown.length > 0) throw new TypeError(`${kind} does not enforce ${unknown.join(', ')}; it cannot document it`)
}

const DESCRIBED = ['description', 'example']
const formatOf = ({ minimum, maximum }: IntegerRule) => (minimum >= -INT32_MAX - 1 && maximum <= INT32_MAX ? 'int32' : 'int64')

/**
 * A string of `minLength`–`maxLength` code points with no control characters or lone surrogates,
 * and with `format: 'email'` a valid address; with `trim`, the rule applies to the trimmed text; with
 * `nfkc`, the length is that of its NFKC form.
 */
export const strictText = (rule: TextRule) => {
  onlyKnown('strictText', rule, ['minLength', 'maxLength', 'trim', 'nfkc', 'controls', 'format', ...DESCRIBED])
  const { trim, nfkc, controls, ...documented } = rule
  const pattern = controls === 'c0' ? NO_C0_CONTROL_CHARACTERS : NO_CONTROL_CHARACTERS
  const schema = t.Unsafe<string>({ [Kind]: 'StrictText', [Trim]: trim, [Nfkc]: nfkc, [C0Only]: controls === 'c0', type: 'string', pattern, ...documented })
  return trim ? t.Transform(schema).Decode(trimWhiteSpace).Encode((value) => value) : schema
}

/**
 * A JSON number with no fractional part, from `minimum` to `maximum`; strings are never accepted.
 * With `outOfRange: 'business'`, a JSON integer outside the range breaks a business rule (400)
 * rather than the schema (422).
 */
export const jsonInteger = ({ outOfRange = 'schema', ...rule }: IntegerRule & { outOfRange?: RangeRule }) => {
  onlyKnown('jsonInteger', rule, ['minimum', 'maximum', ...DESCRIBED])
  return t.Unsafe<number>({ [Kind]: 'StrictInteger', [OutOfRange]: outOfRange, type: 'integer', format: formatOf(rule), ...rule })
}

/**
 * An integer written as plain decimal digits in a path or query string (`1e2`, `+1`, `0x10`, ` 1`
 * are not), from `minimum` to `maximum`, decoded to a number.
 */
export const decimalInteger = (rule: IntegerRule) => {
  onlyKnown('decimalInteger', rule, ['minimum', 'maximum', ...DESCRIBED])
  return t
    .Transform(t.Unsafe<string>({ [Kind]: 'DecimalInteger', type: 'integer', format: formatOf(rule), ...rule }))
    .Decode((value) => Number(value))
    .Encode((value) => String(value))
}

/** One of a few fixed strings (e.g. a role). */
export const strictEnum = <const T extends readonly string[]>(values: T, described: Described = {}) => {
  onlyKnown('strictEnum', described, DESCRIBED)
  return t.Unsafe<T[number]>({ [Kind]: 'StrictEnum', type: 'string', enum: [...values], maxLength: Math.max(...values.map((value) => value.length)), ...described })
}

/** Whether `value` failed `schema` only by breaking a business rule (a 400, not a 422). */
export const breaksBusinessRule = (schema: Record<PropertyKey, any>, value: unknown) =>
  schema[Kind] === 'StrictInteger' && schema[OutOfRange] === 'business' && Number.isInteger(value)

/** The rule a strict type enforces, in words, for error messages. */
export const describeRule = (schema: Record<PropertyKey, any>): string | undefined => {
  switch (schema[Kind]) {
    case 'StrictText':
      return schema.format === 'email'
        ? `must be a valid email address (local@domain.tld) of at most ${schema.maxLength} characters`
        : `must be a string of ${schema.minLength} to ${schema.maxLength} characters${schema[Trim] ? ' after trimming' : schema[Nfkc] ? ' (in NFKC form)' : ''}, without control characters`
    case 'StrictInteger':
      return schema[OutOfRange] === 'business' ? 'must be a JSON integer' : `must be a JSON integer from ${schema.minimum} to ${schema.maximum}`
    case 'DecimalInteger':
      return `must be an integer from ${schema.minimum} to ${schema.maximum}, written in decimal digits`
    case 'StrictEnum':
      return `must be one of ${schema.enum.join(', ')}`
  }
}

/** What breaking a business-rule range says, e.g. `must be between 1 and 120`. */
export const describeBusinessRule = (schema: Record<PropertyKey, any>) => `must be between ${schema.minimum} and ${schema.maximum}`
