import { Elysia } from 'elysia'

// API answers are data, never pages: nothing may load, frame or sniff them.
const API_POLICY = "default-src 'none'; frame-ancestors 'none'"
// The docs page runs Scalar, served by the service itself, which needs inline styles and scripts.
const DOCS_POLICY =
  "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"

// The path of a request URL, read as text: with a broken Host header the URL does not parse.
const pathOf = (url: string) => {
  const start = url.startsWith('/') ? 0 : url.indexOf('/', url.indexOf('//') + 2)
  return start < 0 ? '/' : url.slice(start).split(/[?#]/, 1)[0]!
}

/** Headers every response carries, by the request's URL. */
const headersFor = (url: string): Record<string, string> => ({
  'x-content-type-options': 'nosniff',
  'content-security-policy': /^\/docs\/?$/.test(pathOf(url)) ? DOCS_POLICY : API_POLICY,
})

/**
 * `securityHeaders()`: `X-Content-Type-Options: nosniff` and a content security policy on every
 * response: nothing at all for API answers, what Scalar needs for the docs page.
 */
export const securityHeaders = () =>
  new Elysia({ name: 'security-headers' }).onRequest(({ request, set }) => {
    Object.assign(set.headers, headersFor(request.url))
  })
