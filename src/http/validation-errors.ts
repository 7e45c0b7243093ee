import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors'
import type { TSchema, ValidationError } from 'elysia'
import { describeRule } from './strict-types'
import { MAX_FIELD_ERRORS, MAX_FIELD_NAME_LENGTH, type FieldError } from './problem'

// When one field breaks several rules, the most useful message wins.
const PRIORITY: Partial<Record<ValueErrorType, number>> = {
  [ValueErrorType.ObjectRequiredProperty]: 0,
  [ValueErrorType.ObjectAdditionalProperties]: 1,
}

const messageFor = (error: ValueError, field: string): string => {
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required'
    case ValueErrorType.ObjectAdditionalProperties:
      return 'is not allowed'
    case ValueErrorType.ObjectMinProperties:
      return `must contain at least one of: ${Object.keys(error.schema.properties ?? {}).join(', ')}`
    case ValueErrorType.Object:
      return 'must be a JSON object'
  }
  return describeRule(error.schema) ?? (field === 'body' ? 'must be a JSON object' : 'is not valid')
}

type Errors = (value: unknown) => Iterable<ValueError>

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>()
const errorsOf = (schema: TSchema): Errors => {
  let check = compiled.get(schema)
  if (!check) compiled.set(schema, (check = TypeCompiler.Compile(schema)))
  return (value) => check.Errors(value)
}

// The first JSON Pointer segment names the field; none means the body itself. An unknown field
// named "" is still a field, so it is reported as "", not as the body. A field name longer than
// any of ours is junk: it is echoed, but cut short.
const fieldName = (path: string) => {
  const segment = path.split('/')[1]
  return segment === undefined ? 'body' : [...segment.replace(/~1/g, '/').replace(/~0/g, '~')].slice(0, MAX_FIELD_NAME_LENGTH).join('')
}

/** Adds to `found` the first, most useful message per field of `value` against the rules. */
const collect = (found: Map<string, { rank: number; message: string }>, errors: Errors, value: unknown) => {
  for (const valueError of errors(value)) {
    const field = fieldName(valueError.path)
    const rank = PRIORITY[valueError.type] ?? 2
    const seen = found.get(field)
    if (!seen && found.size >= MAX_FIELD_ERRORS) continue
    if (!seen || rank < seen.rank) found.set(field, { rank, message: messageFor(valueError, field) })
  }
}

/** Parts of the request Elysia did not check because an earlier part (path, query) failed. */
export interface UncheckedPart {
  schema: TSchema
  value: unknown
}

/**
 * Every violation of a request, one entry per field, named as the client named it: those of the
 * part Elysia rejected and those of `unchecked` parts. Works from the validators themselves, so
 * `NODE_ENV=production` (which makes Elysia's messages terse) changes nothing.
 */
export const fieldErrors = (error: ValidationError, unchecked: UncheckedPart[] = []): FieldError[] => {
  const found = new Map<string, { rank: number; message: string }>()
  const validator = error.validator as { Errors?: Errors } | undefined
  if (validator?.Errors) collect(found, (value) => validator.Errors!(value), error.value)
  if (found.size === 0) found.set(error.type === 'body' ? 'body' : error.type, { rank: 0, message: 'is not valid' })
  for (const part of unchecked) collect(found, errorsOf(part.schema), part.value)
  return [...found].map(([field, { message }]) => ({ field, message }))
}
