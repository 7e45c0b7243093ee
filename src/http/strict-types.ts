/**
 * Strict `t` types for what Elysia's built-ins cannot say:
 * - `t.Integer` also accepts `"30"`, `"1e2"` and `"0x10"`; a JSON integer here is a JSON integer.
 * - `t.String({ maxLength })` counts UTF-16 units; the contract counts code points after trimming.
 * - query and path integers must be plain decimal digits.
 *
 * Each is a TypeBox kind checked by a registered function, so the JSON Schema keywords on it
 * (`minLength`, `maximum`, `format`, ...) describe the rule to OpenAPI without being compiled twice.
 */
import { Kind, TypeRegistry } from '@sinclair/typebox'
import { t } from 'elysia'
import type { TSchema } from 'elysia'

/**
 * The HTML standard's valid e-mail address, with a dot required in the domain and the local part a
 * dot-atom (no leading, trailing or doubled dot): what `format: email` means to JSON Schema
 * validators, so clients generated from the OpenAPI document accept every address we return.
 */
const EMAIL =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/
// Control characters cannot be stored faithfully (PostgreSQL rejects NUL) and are never intended.
const CONTROL = /[\u0000-\u001f\u007f]/
const DIGITS = /^[0-9]+$/

/**
 * Marks a text schema whose value is trimmed first. A symbol, like `Kind`, so it stays out of the
 * OpenAPI document, where an unknown keyword makes the document invalid.
 */
const Trim = Symbol.for('users-api/trim')

interface TextSchema extends TSchema {
  minLength: number
  maxLength: number
  [Trim]?: boolean
  format?: 'email'
}

interface DecimalIntegerSchema extends TSchema {
  minimum: number
  maximum?: number
}

const codePoints = (value: string) => {
  let count = 0
  for (const _ of value) count++
  return count
}

TypeRegistry.Set<TextSchema>('StrictText', (schema, value) => {
  if (typeof value !== 'string' || !value.isWellFormed()) return false
  const text = schema[Trim] ? value.trim() : value
  if (CONTROL.test(text)) return false
  const length = codePoints(text)
  if (length < schema.minLength || length > schema.maxLength) return false
  return schema.format !== 'email' || EMAIL.test(text)
})

TypeRegistry.Set('StrictInteger', (_schema, value) => Number.isInteger(value))

TypeRegistry.Set<DecimalIntegerSchema>('DecimalInteger', (schema, value) => {
  if (typeof value !== 'string' || !DIGITS.test(value)) return false
  const number = Number(value)
  return number >= schema.minimum && (schema.maximum === undefined || number <= schema.maximum)
})

type TextOptions = { minLength: number; maxLength: number; trim?: boolean; format?: 'email' } & Record<string, unknown>

/**
 * A string of `minLength`–`maxLength` code points with no control characters or lone surrogates;
 * with `trim`, the rule applies to the trimmed text and the handler receives it trimmed.
 */
export const text = ({ trim, ...options }: TextOptions) => {
  const schema = t.Unsafe<string>({ [Kind]: 'StrictText', [Trim]: trim, type: 'string', ...options })
  return trim ? t.Transform(schema).Decode((value) => value.trim()).Encode((value) => value) : schema
}

/** A JSON number with no fractional part; strings are never accepted. */
export const jsonInteger = (options: Record<string, unknown> = {}) =>
  t.Unsafe<number>({ [Kind]: 'StrictInteger', type: 'integer', ...options })

/**
 * An integer written as plain decimal digits in a path or query string (`1e2`, `+1`, `0x10`, ` 1`
 * are not), decoded to a number. Values past `Number.MAX_SAFE_INTEGER` decode inexactly; callers
 * that look things up by them treat an unsafe integer as absent.
 */
export const decimalInteger = (options: { minimum: number; maximum?: number } & Record<string, unknown>) =>
  t
    .Transform(t.Unsafe<string>({ [Kind]: 'DecimalInteger', type: 'integer', ...options }))
    .Decode((value) => Number(value))
    .Encode((value) => String(value))

/** The rule a strict type enforces, in words, for error messages. */
export const describeRule = (schema: Record<PropertyKey, any>): string | undefined => {
  switch (schema[Kind]) {
    case 'StrictText':
      return schema.format === 'email'
        ? `must be a valid email address (local@domain.tld) of at most ${schema.maxLength} characters`
        : `must be a string of ${schema.minLength} to ${schema.maxLength} characters${schema[Trim] ? ' after trimming' : ''}, without control characters`
    case 'StrictInteger':
      return 'must be a JSON integer'
    case 'DecimalInteger':
      return schema.maximum === undefined
        ? `must be an integer of at least ${schema.minimum}, written in decimal digits`
        : `must be an integer from ${schema.minimum} to ${schema.maximum}, written in decimal digits`
  }
}
