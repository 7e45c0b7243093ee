import { Elysia } from 'elysia'

/**
 * `headDate()`: a `HEAD` answer carries `Date`, as its `GET` does (RFC 9110 §6.6.1): Bun answers
 * `HEAD` for every `GET` route but leaves that header out, and sends one given to it.
 */
export const headDate = () =>
  new Elysia({ name: 'head-date' }).onRequest(({ request, set }) => {
    if (request.method === 'HEAD') set.headers.date = new Date().toUTCString()
  })
