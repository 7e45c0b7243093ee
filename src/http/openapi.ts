/**
 * The parts of the OpenAPI document every route shares: the problem+json responses, the `Problem`
 * schema they carry, and the helpers routes use for their `detail.responses` (which the swagger
 * plugin copies into the document as they are). The plugin emits OpenAPI 3.0.3, so schemas use
 * 3.0 keywords (`example`, not `examples`).
 */
import { t, type TSchema } from 'elysia'
import { RETRY_AFTER_SECONDS } from './error-handler'
import { MAX_FIELD_ERRORS, MAX_FIELD_NAME_LENGTH, TITLES } from './problem'
import { jsonInteger } from './strict-types'

/** Text the service writes itself is one line, without control characters. */
const ONE_LINE = '^[^\\u0000-\\u001F\\u007F]*$'

const FieldError = t.Object({
  field: t.String({
    // An unknown body field is named as the client sent it, cut to this length.
    maxLength: MAX_FIELD_NAME_LENGTH,
    description: 'The body field, path parameter or query parameter at fault; `body` for the body as a whole.',
    example: 'email',
  }),
  message: t.String({ maxLength: 200, pattern: ONE_LINE, example: 'is already taken' }),
})

/** RFC 9457 problem details, as every error response carries them. */
export const ProblemSchema = t.Object(
  {
    type: t.String({ enum: ['about:blank'], maxLength: 11 }),
    title: t.String({ enum: [...new Set(Object.values(TITLES))], maxLength: 30, description: "The status code's name." }),
    status: jsonInteger({ format: 'int32', minimum: 400, maximum: 599, description: 'The HTTP status code.' }),
    detail: t.String({ maxLength: 500, pattern: ONE_LINE, description: 'What went wrong, for a person.' }),
    errors: t.Optional(
      t.Array(FieldError, {
        // One entry per field at fault; a body naming more unknown fields gets the first ones.
        maxItems: MAX_FIELD_ERRORS,
        description: 'Every violated rule, one entry per field (422; some 400 and 409 too).',
      }),
    ),
  },
  { description: 'RFC 9457 problem details. Some responses add members (e.g. `database`).' },
)

const ref = (kind: 'schemas' | 'responses', name: string) => ({ $ref: `#/components/${kind}/${name}` })

/** A `$ref` to a schema in `components.schemas`, usable where a `t` schema is expected. */
export const schemaRef = (name: string) => t.Ref(`#/components/schemas/${name}`)

/** The `Retry-After` header of every 503. */
export const retryAfterHeader = {
  'Retry-After': {
    description: 'Seconds to wait before retrying.',
    required: true,
    schema: { type: 'integer' as const, format: 'int32', minimum: 0, maximum: 86_400, example: RETRY_AFTER_SECONDS },
  },
}

interface ProblemSpec {
  name: string
  description: string
  detail: string
  errors?: { field: string; message: string }[]
}

const PROBLEMS: Record<number, ProblemSpec> = {
  400: {
    name: 'BadRequest',
    description: 'The body is not parseable JSON (or nests more than 32 levels deep), or a business rule fails (age outside 1–120).',
    detail: 'age must be between 1 and 120',
    errors: [{ field: 'age', message: 'must be between 1 and 120' }],
  },
  404: { name: 'NotFound', description: 'No user with that id.', detail: 'User not found' },
  409: {
    name: 'Conflict',
    description: 'The email is already taken by another user (compared case-insensitively).',
    detail: 'A user with this email already exists',
    errors: [{ field: 'email', message: 'is already taken' }],
  },
  413: {
    name: 'ContentTooLarge',
    description: 'The body is larger than the configured limit (65,536 bytes unless configured otherwise).',
    detail: 'The request body must not exceed 65536 bytes',
  },
  415: {
    name: 'UnsupportedMediaType',
    description: 'The body is not sent as `application/json` (or another `application/*+json` type).',
    detail: 'The request body must be JSON, sent with Content-Type: application/json',
  },
  422: {
    name: 'UnprocessableContent',
    description: 'The request does not fit the schema; `errors` lists every violation, one per field.',
    detail: 'The request does not fit the schema',
    errors: [
      { field: 'email', message: 'must be a valid email address (local@domain.tld) of at most 254 characters' },
      { field: 'age', message: 'must be a JSON integer' },
    ],
  },
  429: {
    name: 'TooManyRequests',
    description: 'Too many requests from this client address (only when `RATE_LIMIT` is set); retry after `Retry-After` seconds.',
    detail: 'Too many requests from this client; slow down',
  },
  500: {
    name: 'InternalServerError',
    description: 'An unexpected failure on our side: a bug. The body names no cause; `X-Request-Id` finds it in our logs.',
    detail: 'Something went wrong on our side; the request id identifies it in our logs',
  },
  503: {
    name: 'ServiceUnavailable',
    description: 'The database is unreachable or too slow; retry after `Retry-After` seconds.',
    detail: 'The database is unavailable; try again shortly',
  },
}

/** An example problem body for `status`. */
export const problemExample = (status: number, detail = PROBLEMS[status]!.detail, errors = PROBLEMS[status]?.errors) => ({
  type: 'about:blank',
  title: TITLES[status]!,
  status,
  detail,
  ...(errors ? { errors } : {}),
})

const problemResponse = (status: number) => ({
  description: PROBLEMS[status]!.description,
  ...(status === 503 || status === 429 ? { headers: retryAfterHeader } : {}),
  content: { 'application/problem+json': { schema: ref('schemas', 'Problem'), example: problemExample(status) } },
})

/** `components` for the document: the `Problem` schema, one response per problem status, and `schemas`. */
export const openApiComponents = (schemas: Record<string, TSchema>) => ({
  schemas: { Problem: ProblemSchema, ...schemas },
  responses: Object.fromEntries(Object.entries(PROBLEMS).map(([status, spec]) => [spec.name, problemResponse(Number(status))])),
})

/** A problem+json response whose body is a `Problem` with the members of `extra` besides. */
export const problemWith = (description: string, extra: TSchema, example: Record<string, unknown>, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/problem+json': { schema: { allOf: [ref('schemas', 'Problem'), extra] }, example } },
})

/** A JSON success response. */
export const jsonResponse = (description: string, schema: TSchema, options: { headers?: Record<string, unknown>; example?: unknown } = {}) => ({
  description,
  ...(options.headers ? { headers: options.headers } : {}),
  content: { 'application/json': { schema, ...(options.example === undefined ? {} : { example: options.example }) } },
})

type ResponseObject = ReturnType<typeof jsonResponse> | ReturnType<typeof problemWith> | { description: string }

/**
 * An operation's `responses` for the OpenAPI document: its own responses, then the shared problem
 * responses it can answer, by status. Every operation can answer 429 (with rate limiting on) and
 * 500, so they are always listed.
 */
export const responses = (own: Record<number, ResponseObject>, ...problems: number[]) => ({
  ...own,
  ...Object.fromEntries([...problems, 429, 500].filter((status) => !(status in own)).map((status) => [status, ref('responses', PROBLEMS[status]!.name)])),
})
