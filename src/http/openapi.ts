import { t, type TSchema } from 'elysia'
import { MAX_FIELD_ERRORS, MAX_FIELD_NAME_LENGTH } from './problem'
import { jsonInteger } from './strict-types'

const FieldError = t.Object({
  field: t.String({ maxLength: MAX_FIELD_NAME_LENGTH, description: 'The body field, path parameter or query parameter at fault.' }),
  message: t.String({ maxLength: 200 }),
})

/** RFC 9457 problem details, as every error response carries them. */
export const ProblemSchema = t.Object({
  type: t.String({ maxLength: 200, example: 'about:blank' }),
  title: t.String({ maxLength: 100, example: 'Not Found' }),
  status: jsonInteger({ minimum: 400, maximum: 599, example: 404 }),
  detail: t.String({ maxLength: 500, example: 'User not found' }),
  errors: t.Optional(t.Array(FieldError, { maxItems: MAX_FIELD_ERRORS, description: 'Every violated rule, one per field.' })),
})

const PROBLEMS: Record<number, string> = {
  400: 'The body is not parseable JSON, or a business rule fails (age outside 1–120).',
  404: 'No user with that id.',
  409: 'The email is already taken by another user.',
  413: 'The body is larger than the configured limit.',
  415: 'The body is not sent as application/json.',
  422: 'The request does not fit the schema; `errors` lists every violation.',
  503: 'The database is unreachable or too slow; retry after `Retry-After` seconds.',
}

const RETRY_AFTER = { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: jsonInteger({ minimum: 0 }) } }

const problem = (status: number) => ({
  description: PROBLEMS[status]!,
  ...(status === 503 ? { headers: RETRY_AFTER } : {}),
  content: { 'application/problem+json': { schema: ProblemSchema } },
})

const json = (description: string, schema: TSchema, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema } },
})

/**
 * An operation's `responses` for the OpenAPI document: the success response and the problem
 * responses it can answer. Given as `detail.responses`, which the swagger plugin uses as is.
 */
export const responses = (success: Record<number, ReturnType<typeof json> | { description: string }>, ...problems: number[]) => ({
  ...success,
  ...Object.fromEntries(problems.map((status) => [status, problem(status)])),
})

export { json as jsonResponse }
