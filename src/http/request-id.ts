const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/

/** The client's `X-Request-Id` when it is sane, else a fresh one, so logs and replies line up. */
export const requestIdFrom = (header: string | null): string =>
  header !== null && SANE_REQUEST_ID.test(header) ? header : crypto.randomUUID()
