import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors'
import type { TSchema } from 'elysia'
import { breaksBusinessRule, describeBusinessRule, describeRule } from '../schema/strict-types'
import type { ValidationFailure } from './elysia-internals'
import { MAX_FIELD_ERRORS, echoedFieldName, type FieldError } from './problem'
import { problems } from './problems'

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

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>()
const errorsAgainst = (schema: TSchema, value: unknown): Iterable<ValueError> => {
  let check = compiled.get(schema)
  if (!check) compiled.set(schema, (check = TypeCompiler.Compile(schema)))
  return check.Errors(value)
}

// The first JSON Pointer segment names the field; none means the body itself. An unknown field
// named "" is still a field, so it is reported as "", not as the body. A field name longer than
// any of ours is junk: it is echoed, but cut short.
const fieldName = (path: string) => {
  const segment = path.split('/')[1]
  return segment === undefined ? 'body' : echoedFieldName(segment.replace(/~1/g, '/').replace(/~0/g, '~'))
}

type Found = Map<string, { rank: number; message: string }>

/** Adds the first, most useful message per field to `schema` (422) or `business` (400). */
const collect = (found: { schema: Found; business: Found }, errors: Iterable<ValueError>) => {
  for (const valueError of errors) {
    const field = fieldName(valueError.path)
    const business = breaksBusinessRule(valueError.schema, valueError.value)
    const into = business ? found.business : found.schema
    const rank = PRIORITY[valueError.type] ?? 2
    const seen = into.get(field)
    if (!seen && into.size >= MAX_FIELD_ERRORS) continue
    const message = business ? describeBusinessRule(valueError.schema) : messageFor(valueError, field)
    if (!seen || rank < seen.rank) into.set(field, { rank, message })
  }
}

/** Parts of the request Elysia did not check because an earlier part (path, query) failed. */
export interface UncheckedPart {
  schema: TSchema
  value: unknown
}

const list = (found: Found): FieldError[] => [...found].map(([field, { message }]) => ({ field, message }))

/**
 * Every violation of a request, one entry per field, named as the client named it: those of the
 * part Elysia rejected and those of `unchecked` parts. A request that breaks only business rules
 * (a JSON integer outside its range, e.g. age) is a 400 listing them; any other violation makes
 * it a 422 listing those. Works from the validators themselves, so `NODE_ENV=production` (which
 * makes Elysia's messages terse) changes nothing.
 */
export const requestViolations = (failure: ValidationFailure, unchecked: UncheckedPart[] = []): { status: 400 | 422; errors: FieldError[] } => {
  const found = { schema: new Map(), business: new Map() } as { schema: Found; business: Found }
  collect(found, failure.errors())
  if (found.schema.size === 0 && found.business.size === 0)
    found.schema.set(failure.part === 'body' ? 'body' : failure.part, { rank: 0, message: 'is not valid' })
  for (const part of unchecked) collect(found, errorsAgainst(part.schema, part.value))
  return found.schema.size > 0 ? { status: 422, errors: list(found.schema) } : { status: 400, errors: list(found.business) }
}

/** `value` when it fits `schema`; otherwise the 422 (or 400) listing every violation, as for a route's body. */
export const assertValid = <T>(schema: TSchema, value: unknown): T => {
  const errors = errorsAgainst(schema, value)
  if (compiled.get(schema)!.Check(value)) return value as T
  const { status, errors: found } = requestViolations({ part: 'body', value, errors: () => errors })
  throw status === 400 ? problems.businessRule(found) : problems.invalidRequest(found)
}

/** The violations of `value` that would make it a 422 against `schema`: none when it fits, or breaks only business rules. */
export const schemaViolations = (schema: TSchema, value: unknown): FieldError[] => {
  const errors = [...errorsAgainst(schema, value)]
  if (errors.length === 0) return []
  const { status, errors: found } = requestViolations({ part: 'body', value, errors: () => errors })
  return status === 422 ? found : []
}
