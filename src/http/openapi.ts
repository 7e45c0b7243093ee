/**
 * The OpenAPI side of the problem catalogue, and the helpers routes use for their
 * `detail.responses` (which the swagger plugin copies into the document as they are). The plugin
 * emits OpenAPI 3.0.3, so schemas use 3.0 keywords (`example`, not `examples`).
 */
import { t, type TSchema } from 'elysia'
import { NO_CONTROL_CHARACTERS, jsonInteger } from '../schema/strict-types'
import { MAX_FIELD_ERRORS, MAX_FIELD_NAME_LENGTH, STATUS_TITLES, type DocumentedSettings, type ProblemFactory, type ProblemStatus } from './problem'
import { headersFor } from './openapi-headers'
import { problems } from './problems'

const FieldError = t.Object({
  field: t.String({
    // An unknown body field is named as the client sent it, cut to this length.
    maxLength: MAX_FIELD_NAME_LENGTH,
    description: 'The body field, path parameter or query parameter at fault; `body` for the body as a whole.',
    example: 'email',
  }),
  message: t.String({ maxLength: 200, pattern: NO_CONTROL_CHARACTERS, example: 'is already taken' }),
})

/** RFC 9457 problem details, as every error response carries them. */
const ProblemSchema = t.Object(
  {
    type: t.String({ enum: ['about:blank'], maxLength: 11 }),
    title: t.String({ enum: Object.values(STATUS_TITLES), maxLength: 30, description: "The status code's name." }),
    status: jsonInteger({ minimum: 400, maximum: 599, description: 'The HTTP status code.' }),
    detail: t.String({ maxLength: 500, pattern: NO_CONTROL_CHARACTERS, description: 'What went wrong, for a person.' }),
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
/** The response component of a status: its title without spaces, e.g. `NotFound`. */
const componentName = (status: ProblemStatus) => STATUS_TITLES[status].replace(/ /g, '')

/** A `$ref` to a schema in `components.schemas`, usable where a `t` schema is expected. */
export const schemaRef = (name: string) => t.Ref(`#/components/schemas/${name}`)

/**
 * The security schemes: a bearer JWT, and the OAuth 2.0 password flow at `/auth/token` (what the
 * docs page's log-in dialog uses). Protected operations list `SECURED` as their `security`.
 */
const securitySchemes = {
  bearerAuth: {
    type: 'http' as const,
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'An access token from `POST /auth/token`: a JWT (HS256, following RFC8725: the algorithm pinned, `exp` required), valid 15 minutes by default.',
  },
  oauth2: {
    type: 'oauth2' as const,
    description: 'Log in with an email and password; the access token is a JWT following RFC8725, renewed with the refresh token (the refresh grant at `/auth/token`, or `POST /auth/refresh` with JSON).',
    flows: { password: { tokenUrl: '/auth/token', refreshUrl: '/auth/token', scopes: {} } },
  },
}
export const SECURED: Record<string, string[]>[] = [{ bearerAuth: [] }, { oauth2: [] }]

/** The example body of a catalogue entry, built by the same code as the real one. */
const exampleOf = <A extends unknown[]>(problem: ProblemFactory<A>, settings: DocumentedSettings) =>
  problem(...problem.definition.example(settings)).toJSON()

type AnyProblem = ProblemFactory<any[]>
// Answered on any path rather than by one operation (404, 405), or documented where answered (readiness).
const DOCUMENTED_ELSEWHERE: AnyProblem[] = [problems.routeNotFound, problems.methodNotAllowed, problems.notReady]
const documented = (Object.values(problems) as AnyProblem[]).filter((problem) => !DOCUMENTED_ELSEWHERE.includes(problem))

const describe = (problem: AnyProblem, settings: DocumentedSettings) =>
  typeof problem.definition.description === 'string' ? problem.definition.description : problem.definition.description(settings)

/** One response per problem status, describing every catalogue entry of that status. */
const documentedProblemResponse = (status: ProblemStatus, settings: DocumentedSettings) => {
  const entries = documented.filter((problem) => problem.definition.status === status)
  return {
    description: entries.map((problem) => describe(problem, settings)).join(' '),
    headers: headersFor(status),
    content: { 'application/problem+json': { schema: ref('schemas', 'Problem'), example: exampleOf(entries[0]!, settings) } },
  }
}

/**
 * `components` for the document: the `Problem` schema, one response per problem status, `schemas`,
 * and, with access control (`auth`), the security schemes.
 */
export const openApiComponents = (settings: DocumentedSettings, schemas: Record<string, TSchema>, { auth }: { auth: boolean }) => {
  const statuses = [...new Set(documented.map((problem) => problem.definition.status))]
  return {
    schemas: { Problem: ProblemSchema, ...schemas },
    responses: Object.fromEntries(statuses.map((status) => [componentName(status), documentedProblemResponse(status, settings)])),
    ...(auth ? { securitySchemes } : {}),
  }
}

/** The response of one catalogue entry whose body adds the members of `extra` to `Problem`. */
export const problemWith = (problem: AnyProblem, extra: TSchema) => ({
  description: describe(problem, { bodyLimit: 0 }),
  headers: headersFor(problem.definition.status),
  content: { 'application/problem+json': { schema: { allOf: [ref('schemas', 'Problem'), extra] }, example: exampleOf(problem, { bodyLimit: 0 }) } },
})

/**
 * The problem response of `status` (every catalogue entry of it) with headers of the operation's
 * own, where the shared component cannot carry them; `responses` adds the usual ones. (No problem
 * of a status an operation adds headers to is described by the settings: 413 is.)
 */
export const problemResponseWith = (status: ProblemStatus, headers: Record<string, unknown>) => ({ ...documentedProblemResponse(status, { bodyLimit: 0 }), headers })

/** A JSON success response. */
export const jsonResponse = (description: string, schema: TSchema, options: { headers?: Record<string, unknown>; example?: unknown } = {}) => ({
  description,
  ...(options.headers ? { headers: options.headers } : {}),
  content: { 'application/json': { schema, ...(options.example === undefined ? {} : { example: options.example }) } },
})

type ResponseObject = ReturnType<typeof jsonResponse> | ReturnType<typeof problemWith> | ReturnType<typeof problemResponseWith> | { description: string }

/**
 * An operation's `responses`: its own, then the problem responses it can answer, by status. Every
 * operation can answer 429 (with rate limiting on) and 500, so they are always listed.
 */
export const responses = (own: Record<number, ResponseObject>, ...statuses: ProblemStatus[]) => ({
  ...Object.fromEntries(
    Object.entries(own).map(([status, response]) => [status, { ...response, headers: headersFor(Number(status), 'headers' in response ? response.headers : {}) }]),
  ),
  ...Object.fromEntries(
    [...statuses, 429 as const, 500 as const].filter((status) => !(status in own)).map((status) => [status, ref('responses', componentName(status))]),
  ),
})
