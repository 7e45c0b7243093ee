/**
 * The problem catalogue: every error this service answers (RFC 9457 problem details), each defined
 * once with its status, detail, field errors, headers and documentation. The errors code throws
 * (`problems.userNotFound()`) and the OpenAPI responses (`./openapi.ts`) both come from here.
 */

import { RETRY_AFTER_SECONDS, MAX_JSON_DEPTH, define, type FieldError } from './problem'

const none = (): [] => []
const UNAUTHORIZED = {
  missing: 'A bearer token is required',
  invalid: 'The bearer token is not valid',
  credentials: 'Wrong email or password',
  refresh: 'The refresh token is not valid',
}
const retryAfter = (seconds: number) => ({ 'retry-after': String(seconds) })
const retryLater = () => retryAfter(RETRY_AFTER_SECONDS)
// A 429 is a refusal of the moment, never to be stored (before routing it also stands for the
// `no-store` a route would have said: every `/auth/*` answer).
const refusedForNow = (seconds: number) => ({ ...retryAfter(seconds), 'cache-control': 'no-store' })

/** A wrong `current_password` (a 422 of `invalidRequest`): counted like a failed login, in the metrics too. */
export const WRONG_CURRENT_PASSWORD: FieldError = { field: 'current_password', message: 'is not your current password' }

export const problems = {
  invalidForm: define({
    status: 400,
    description: 'A form body (at `/auth/token`) is not UTF-8 (its `%` escapes included), has a malformed `%` escape, or sends a parameter twice.',
    detail: 'The request body is not a valid form',
    example: none,
  }),
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
  idempotencyInProgress: define({
    status: 409,
    description: 'A request with this `Idempotency-Key` is still running; retry once it has finished.',
    detail: 'A request with this Idempotency-Key is still in progress',
    errors: () => [{ field: 'Idempotency-Key', message: 'is in use by a request still in progress' }],
    example: none,
  }),
  preconditionFailed: define({
    status: 412,
    description:
      '`If-Match` does not match the user’s current `ETag`: it changed since it was read. Read it again, then decide. ' +
      'On a change, also `If-None-Match` naming the current `ETag` (or `*`: the user exists).',
    detail: (header: 'If-Match' | 'If-None-Match') =>
      header === 'If-Match' ? 'The user has changed since it was read: If-Match does not match its ETag' : 'If-None-Match names the user’s current ETag',
    example: (): ['If-Match'] => ['If-Match'],
  }),
  bodyTooLarge: define({ status: 413, description: ({ bodyLimit }) => `The body is larger than ${bodyLimit} bytes.`, detail: (limit: number) => `The request body must not exceed ${limit} bytes`, example: ({ bodyLimit }): [number] => [bodyLimit] }),
  notJson: define({
    status: 415,
    description: 'The body is not sent as `application/json` (or another `application/*+json` type; at `/auth/token`, or a form).',
    detail: (formToo: boolean) =>
      formToo
        ? 'The request body must be JSON (Content-Type: application/json) or a form (application/x-www-form-urlencoded)'
        : 'The request body must be JSON, sent with Content-Type: application/json',
    example: (): [boolean] => [false],
  }),
  compressedBody: define({
    status: 415,
    description: 'The body is sent with a `Content-Encoding` (gzip, …): send it uncompressed (`Accept-Encoding: identity` says so).',
    detail: 'The request body must not be compressed: send it without Content-Encoding',
    // RFC 9110 §15.5.16: the codings this service reads, none but the identity.
    headers: () => ({ 'accept-encoding': 'identity' }),
    example: none,
  }),
  invalidRequest: define({
    status: 422,
    description: 'The request does not fit the schema; `errors` lists every violation, one per field.',
    detail: 'The request does not fit the schema',
    errors: (errors: FieldError[]) => errors,
    example: (): [FieldError[]] => [[{ field: 'email', message: 'must be a valid email address (local@domain.tld) of at most 254 characters' }, { field: 'age', message: 'must be a JSON integer' }]],
  }),
  idempotencyKeyReused: define({
    status: 422,
    description: 'This `Idempotency-Key` was used with a different request body.',
    detail: 'The Idempotency-Key was already used with a different request body',
    errors: () => [{ field: 'Idempotency-Key', message: 'was already used with a different request body' }],
    example: none,
  }),
  preconditionRequired: define({
    status: 428,
    description: 'The service requires `If-Match` on every change (`REQUIRE_IF_MATCH`): read the user and send its `ETag`.',
    detail: 'This request needs an If-Match header with the user’s ETag',
    example: none,
  }),
  tooManyRequests: define({
    status: 429,
    description: 'Too many requests from this client address (only when `RATE_LIMIT` is set); retry after `Retry-After` seconds.',
    detail: 'Too many requests from this client; slow down',
    headers: refusedForNow,
    example: (): [number] => [30],
  }),
  loginThrottled: define({
    status: 429,
    description: 'Too many failed logins for this email (from this client, or from all); retry after `Retry-After` seconds.',
    detail: 'Too many failed logins; try again later',
    headers: refusedForNow,
    example: (): [number] => [600],
  }),
  hashQueueFull: define({
    status: 429,
    description: 'Too many passwords are being checked at once; retry after `Retry-After` seconds.',
    detail: 'The service is busy checking passwords; try again shortly',
    headers: refusedForNow,
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

