import { Elysia } from 'elysia'

const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/

/** The client's `X-Request-Id` when it is sane, else a fresh one, so logs and replies line up. */
const requestIdFrom = (header: string | null): string =>
  header !== null && SANE_REQUEST_ID.test(header) ? header : crypto.randomUUID()

/**
 * `requestId()`: every response carries `X-Request-Id`: the client's, if it sent a sane one (at
 * most 128 letters, digits, `-`, `_`, `.`), else a new UUID. Errors and log lines name it too.
 */
export const requestId = () =>
  new Elysia({ name: 'request-id' }).onRequest(({ request, set }) => {
    set.headers['x-request-id'] = requestIdFrom(request.headers.get('x-request-id'))
  })
