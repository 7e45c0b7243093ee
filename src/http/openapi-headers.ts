/**
 * The headers the OpenAPI document lists on responses: every response's (the request id, the rate
 * limit's) and those of particular statuses.
 */
import { RETRY_AFTER_SECONDS } from './problem'

/** A `Retry-After` header, as 429 and 503 carry it. */
const retryAfterHeader = {
  'Retry-After': {
    description: 'Seconds to wait before retrying.',
    required: true,
    schema: { type: 'integer' as const, format: 'int32', minimum: 0, maximum: 86_400, example: RETRY_AFTER_SECONDS },
  },
}

/** `Cache-Control: no-store`, as 429 carries it. */
const noStoreHeader = {
  'Cache-Control': {
    description: 'Always `no-store`: a refusal of the moment, not to be stored.',
    required: true,
    schema: { type: 'string' as const, enum: ['no-store'], maxLength: 8 },
  },
}

/** `Accept-Encoding: identity`, as a 415 for a compressed body carries it. */
const acceptEncodingHeader = {
  'Accept-Encoding': {
    description: 'With a compressed body (`Content-Encoding`): `identity`, the only coding this service reads.',
    schema: { type: 'string' as const, enum: ['identity'], maxLength: 8 },
  },
}

/** A `WWW-Authenticate` header, as 401 carries it. */
const wwwAuthenticateHeader = {
  'WWW-Authenticate': {
    description: '`Bearer`, with `error="invalid_token"` when a token was sent.',
    required: true,
    schema: { type: 'string' as const, maxLength: 40, pattern: '^Bearer( error="invalid_token")?$', example: 'Bearer' },
  },
}

/** Sent on every response while rate limiting is on (`RATE_LIMIT`): draft-ietf-httpapi-ratelimit-headers. */
const rateLimitHeaders = {
  RateLimit: {
    description: 'While rate limiting is on: the requests this client has left in the window (`r`) and the seconds until it ends (`t`).',
    schema: { type: 'string' as const, maxLength: 64, pattern: '^"default";r=\\d+;t=\\d+$', example: '"default";r=42;t=30' },
  },
  'RateLimit-Policy': {
    description: 'While rate limiting is on: `q` requests per client address per `w` seconds.',
    schema: { type: 'string' as const, maxLength: 64, pattern: '^"default";q=\\d+;w=\\d+$', example: '"default";q=100;w=60' },
  },
}

/** On every response: see `./request-id`. */
const requestIdHeader = {
  'X-Request-Id': {
    description: 'Your own `X-Request-Id` when you sent a sane one (1–128 letters, digits, `.`, `_`, `-`), else a new UUID; log lines name it.',
    required: true,
    schema: { type: 'string' as const, maxLength: 128, pattern: '^[A-Za-z0-9._-]{1,128}$', example: '8e03978e-40d5-43e8-bc93-6894a57f9324' },
  },
}

/**
 * The headers of a response with `status`: `X-Request-Id` and the rate limit's on every one,
 * `Retry-After` on 429 and 503, `Cache-Control: no-store` on 429, `WWW-Authenticate` on 401,
 * `Accept-Encoding` on 415.
 */
export const headersFor = (status: number, own: Record<string, unknown> = {}) => ({
  ...(status === 429 ? noStoreHeader : {}),
  ...own,
  ...(status === 503 || status === 429 ? retryAfterHeader : {}),
  ...(status === 401 ? wwwAuthenticateHeader : {}),
  ...(status === 415 ? acceptEncodingHeader : {}),
  ...requestIdHeader,
  ...rateLimitHeaders,
})

