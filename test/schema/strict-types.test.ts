import { describe, expect, test } from 'bun:test'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Value } from '@sinclair/typebox/value'
import Ajv from 'ajv'
import addFormats from 'ajv-formats'
import type { TSchema } from 'elysia'
import { decimalInteger, jsonInteger, strictText, trimWhiteSpace } from '../../src/schema/strict-types'

// What the document says of a value (JSON Schema keywords, checked by ajv) must hold for every
// value a strict type accepts: the document never promises a rule the service does not keep.
const ajv = addFormats(new Ajv({ strict: false }))
const documented = (schema: TSchema) => ajv.compile(JSON.parse(JSON.stringify(schema)))

/** The values a strict type accepts among `values`, as the handler receives them (decoded). */
const accepted = (schema: TSchema, values: unknown[]) => {
  const check = TypeCompiler.Compile(schema)
  return values.filter((value) => check.Check(value)).map((value) => Value.Decode(schema, value))
}

const texts = ['', 'a', 'ab', 'abc', ' abc ', '\tab\n', 'a\u0000b', 'a\u007fb', 'a\u0085b', 'a\u009fb', '\u0085ab\u0085', '\u0085', 'x'.repeat(10), 'x'.repeat(11), ' '.repeat(12), 'é'.repeat(10), '😀'.repeat(10), '\ud800', 'a@b.co', 'a..b@c.co', ' a@b.co ', 'a@b', 42, null]
const integers = [0, 1, 2, 9, 10, 11, -1, 1.5, 1e20, '5', 2 ** 31, 2 ** 31 - 1, Number.MAX_SAFE_INTEGER, null]
const digitStrings = ['0', '1', '10', '11', '007', '1e1', '+1', '-1', ' 1', '0x1', '2147483648', '99999999999999999999', '']

describe('strict types enforce every keyword they document', () => {
  test.each([
    ['strictText', strictText({ minLength: 2, maxLength: 10 }), texts],
    ['strictText, trimmed', strictText({ minLength: 2, maxLength: 10, trim: true }), texts],
    ['strictText, email', strictText({ minLength: 3, maxLength: 10, trim: true, format: 'email' }), texts],
  ] as const)('%s', (_, schema, values) => {
    const valid = documented(schema)
    const kept = accepted(schema, [...values])
    expect(kept.length).toBeGreaterThan(0)
    for (const value of kept) expect({ value, valid: valid(value) }).toEqual({ value, valid: true })
    // And the converse for what the document can say: a value it refuses is refused.
    for (const value of values) if (typeof value === 'string' && !valid(trimWhiteSpace(value))) expect(accepted(schema, [value])).toEqual([])
  })

  test('jsonInteger: range and format', () => {
    const schema = jsonInteger({ minimum: 1, maximum: 10 })
    expect(schema).toMatchObject({ type: 'integer', format: 'int32', minimum: 1, maximum: 10 })
    expect(accepted(schema, integers)).toEqual([1, 2, 9, 10])
    expect(jsonInteger({ minimum: 1, maximum: 2 ** 40 })).toMatchObject({ format: 'int64' })
  })

  test('decimalInteger: digits only, range and format', () => {
    const schema = decimalInteger({ minimum: 1, maximum: 10 })
    expect(schema).toMatchObject({ type: 'integer', format: 'int32', minimum: 1, maximum: 10 })
    expect(accepted(schema, digitStrings)).toEqual([1, 10, 7])
  })

  test('an outOfRange: business integer still documents and enforces its range', () => {
    const schema = jsonInteger({ minimum: 1, maximum: 120, outOfRange: 'business' })
    expect(schema).toMatchObject({ minimum: 1, maximum: 120 })
    expect(accepted(schema, [0, 1, 120, 121])).toEqual([1, 120])
  })
})

describe('strict types refuse keywords they would not enforce', () => {
  test.each([
    ['strictText', () => strictText({ minLength: 1, maxLength: 2, pattern: '^a' } as never), 'pattern'],
    ['jsonInteger', () => jsonInteger({ minimum: 1, maximum: 2, multipleOf: 2 } as never), 'multipleOf'],
    ['jsonInteger', () => jsonInteger({ minimum: 1, maximum: 2, format: 'int64' } as never), 'format'],
    ['decimalInteger', () => decimalInteger({ minimum: 1, maximum: 2, exclusiveMaximum: 2 } as never), 'exclusiveMaximum'],
  ])('%s given %#', (kind, make, keyword) => {
    expect(make).toThrow(`${kind} does not enforce ${keyword}; it cannot document it`)
  })
})
