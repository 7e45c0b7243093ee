import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors'
import type { ValidationError } from 'elysia'
import { describeRule } from './strict-types'
import type { FieldError } from './problem'

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

/**
 * Every violation of a request, one entry per field, named as the client named it. Works from the
 * validator itself, so `NODE_ENV=production` (which makes Elysia's messages terse) changes nothing.
 */
export const fieldErrors = (error: ValidationError): FieldError[] => {
  const byField = new Map<string, { rank: number; message: string }>()
  const validator = error.validator as { Errors?: (value: unknown) => Iterable<ValueError> } | undefined
  for (const valueError of validator?.Errors?.(error.value) ?? []) {
    // The first JSON Pointer segment names the field; none means the body itself. An unknown field
    // named "" is still a field, so it is reported as "", not as the body.
    const segment = valueError.path.split('/')[1]
    const field = segment === undefined ? 'body' : segment.replace(/~1/g, '/').replace(/~0/g, '~')
    const rank = PRIORITY[valueError.type] ?? 2
    const seen = byField.get(field)
    if (!seen || rank < seen.rank) byField.set(field, { rank, message: messageFor(valueError, field) })
  }
  if (byField.size === 0) byField.set(error.type === 'body' ? 'body' : error.type, { rank: 0, message: 'is not valid' })
  return [...byField].map(([field, { message }]) => ({ field, message }))
}
