/**
 * The problem catalogue: every error this service answers (RFC 9457 problem details), each defined
 * once with its status, detail, field errors, headers and documentation. The errors code throws
 * (`problems.userNotFound()`) and the OpenAPI responses (`./openapi.ts`) both come from here.
 */

/** At most this many field errors are listed; the OpenAPI document says so too. */
export const MAX_FIELD_ERRORS = 100
/** Field names are echoed up to this many characters. */
export const MAX_FIELD_NAME_LENGTH = 100
/** What a 503's `Retry-After` says. */
export const RETRY_AFTER_SECONDS = 5
/** The deepest nesting a JSON body may have (RFC 8259 §9 lets a parser set one). */
export const MAX_JSON_DEPTH = 32

/** One violated rule: `field` names the body field, path parameter or query parameter at fault. */
export interface FieldError {
  field: string
  message: string
}

/** The status codes a problem can have, with the `title` each gives its problems. */
export const STATUS_TITLES = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
} as const

export type ProblemStatus = keyof typeof STATUS_TITLES

/** What the documentation of a problem may depend on: the running configuration. */
export interface DocumentedSettings {
  bodyLimit: number
}

interface Definition<A extends unknown[]> {
  status: ProblemStatus
  /** When a client gets it, for the OpenAPI document. */
  description: string | ((settings: DocumentedSettings) => string)
  detail: string | ((...args: A) => string)
  errors?: (...args: A) => FieldError[] | undefined
  headers?: (...args: A) => Record<string, string>
  /** Extra members of the body, e.g. `database: "down"`. */
  extensions?: (...args: A) => Record<string, unknown>
  /** The arguments of the documentation's example. */
  example: (settings: DocumentedSettings) => NoInfer<A>
}

/** An error a client can act on. Thrown anywhere in a request, it becomes its problem+json response. */
export class Problem extends Error {
  readonly title: string
  constructor(
    readonly status: ProblemStatus,
    readonly detail: string,
    readonly errors: FieldError[] | undefined,
    readonly headers: Record<string, string>,
    readonly extensions: Record<string, unknown>,
  ) {
    super(detail)
    this.name = 'Problem'
    this.title = STATUS_TITLES[status]
  }

  /** The response body. */
  toJSON() {
    return { ...this.extensions, type: 'about:blank', title: this.title, status: this.status, detail: this.detail, ...(this.errors ? { errors: this.errors } : {}) }
  }
}

/** A catalogue entry: call it to make the error; `definition` documents it. */
export type ProblemFactory<A extends unknown[]> = ((...args: A) => Problem) & { definition: Definition<A> }

const define = <A extends unknown[]>(definition: Definition<A>): ProblemFactory<A> =>
  Object.assign(
    (...args: A) =>
      new Problem(
        definition.status,
        typeof definition.detail === 'string' ? definition.detail : definition.detail(...args),
        definition.errors?.(...args),
        definition.headers?.(...args) ?? {},
        definition.extensions?.(...args) ?? {},
      ),
    { definition },
  )

const none = (): [] => []
const UNAUTHORIZED = {
  missing: 'A bearer token is required',
  invalid: 'The bearer token is not valid',
  credentials: 'Wrong email or password',
  refresh: 'The refresh token is not valid',
}
const retryAfter = (seconds: number) => ({ 'retry-after': String(seconds) })
const retryLater = () => retryAfter(RETRY_AFTER_SECONDS)

export const problems = {
  invalidForm: define({ status: 400, description: 'A form body (at `/auth/token`) is not UTF-8.', detail: 'The request body is not a valid form', example: none }),
  invalidJson: define({ status: 400, description: 'The body is not parseable JSON.', detail: 'The request body is not valid JSON', example: none }),
  tooDeep: define({ status: 400, description: `The body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep.`, detail: `The request body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep`, example: none }),
  businessRule: define({
    status: 400,
    description: 'A business rule fails (age outside 1–120).',
    detail: (errors: FieldError[]) => errors.map(({ field, message }) => `${field} ${message}`).join('; '),
    errors: (errors: FieldError[]) => errors,
    example: (): [FieldError[]] => [[{ field: 'age', message: 'must be between 1 and 120' }]],
  }),
  unauthorized: define({
    status: 401,
    description: 'No bearer token, or one that is malformed, expired, revoked or tampered with; at `/auth/*`, a wrong email or password or a bad refresh token.',
    detail: (reason: 'missing' | 'invalid' | 'credentials' | 'refresh') => UNAUTHORIZED[reason],
    headers: (reason) => ({ 'www-authenticate': reason === 'invalid' ? 'Bearer error="invalid_token"' : 'Bearer' }),
    example: (): ['missing'] => ['missing'],
  }),
  forbidden: define({
    status: 403,
    description: 'The token is valid, but its user may not make this call, or set this field (e.g. `role`).',
    detail: (field?: string) => (field ? `You may not set ${field}` : 'You may not do this'),
    errors: (field?: string) => (field ? [{ field, message: 'may only be set by an admin' }] : undefined),
    example: none,
  }),
  userNotFound: define({ status: 404, description: 'No user with that id.', detail: 'User not found', example: none }),
  routeNotFound: define({ status: 404, description: 'No such route.', detail: 'No such resource', example: none }),
  methodNotAllowed: define({
    status: 405,
    description: 'The path exists, but not with this method; `Allow` lists those it serves.',
    detail: (method: string, _allow: string[]) => `${method} is not allowed here`,
    headers: (_method: string, allow: string[]) => ({ allow: allow.join(', ') }),
    example: (): [string, string[]] => ['PUT', ['DELETE', 'GET', 'HEAD', 'PATCH']],
  }),
  emailTaken: define({ status: 409, description: 'The email is already taken by another user (compared case-insensitively).', detail: 'A user with this email already exists', errors: () => [{ field: 'email', message: 'is already taken' }], example: none }),
  lastAdmin: define({ status: 409, description: 'The change would leave no admin.', detail: 'The last admin cannot be removed or demoted', example: none }),
  bodyTooLarge: define({ status: 413, description: ({ bodyLimit }) => `The body is larger than ${bodyLimit} bytes.`, detail: (limit: number) => `The request body must not exceed ${limit} bytes`, example: ({ bodyLimit }): [number] => [bodyLimit] }),
  notJson: define({
    status: 415,
    description: 'The body is not sent as `application/json` (or another `application/*+json` type; at `/auth/token`, or a form).',
    detail: 'The request body must be JSON, sent with Content-Type: application/json',
    example: none,
  }),
  invalidRequest: define({
    status: 422,
    description: 'The request does not fit the schema; `errors` lists every violation, one per field.',
    detail: 'The request does not fit the schema',
    errors: (errors: FieldError[]) => errors,
    example: (): [FieldError[]] => [[{ field: 'email', message: 'must be a valid email address (local@domain.tld) of at most 254 characters' }, { field: 'age', message: 'must be a JSON integer' }]],
  }),
  tooManyRequests: define({
    status: 429,
    description: 'Too many requests from this client address (only when `RATE_LIMIT` is set); retry after `Retry-After` seconds.',
    detail: 'Too many requests from this client; slow down',
    headers: retryAfter,
    example: (): [number] => [30],
  }),
  loginThrottled: define({
    status: 429,
    description: 'Too many failed logins for this email (from this client, or from all); retry after `Retry-After` seconds.',
    detail: 'Too many failed logins; try again later',
    headers: retryAfter,
    example: (): [number] => [600],
  }),
  hashQueueFull: define({
    status: 429,
    description: 'Too many passwords are being checked at once; retry after `Retry-After` seconds.',
    detail: 'The service is busy checking passwords; try again shortly',
    headers: retryAfter,
    example: (): [number] => [1],
  }),
  internal: define({
    status: 500,
    description: 'An unexpected failure on our side: a bug. The body names no cause; `X-Request-Id` finds it in our logs.',
    detail: 'Something went wrong on our side; the request id identifies it in our logs',
    example: none,
  }),
  databaseUnavailable: define({ status: 503, description: 'The database is unreachable or too slow; retry after `Retry-After` seconds.', detail: 'The database is unavailable; try again shortly', headers: retryLater, example: none }),
  notMigrated: define({ status: 503, description: 'The migrations have not run yet (the database was down at start-up).', detail: 'The database is not ready yet; try again shortly', headers: retryLater, example: none }),
  notReady: define({
    status: 503,
    description:
      'The database does not answer `select 1` within 2 s, the migrations have not run yet, or the service is shutting down; retry after `Retry-After` seconds.',
    detail: (reason: 'unreachable' | 'not migrated' | 'shutting down') =>
      reason === 'shutting down' ? 'The service is shutting down' : reason === 'not migrated' ? 'The database is not ready yet' : 'The database cannot be reached',
    headers: retryLater,
    extensions: (reason) => ({ database: reason === 'shutting down' ? 'unknown' : 'down' }),
    example: (): ['unreachable'] => ['unreachable'],
  }),
}

