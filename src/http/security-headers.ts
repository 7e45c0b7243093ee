import { Elysia } from 'elysia'
import { pathOf } from './request-path'

// API answers are data, never pages: nothing may load, frame or sniff them.
const API_POLICY = "default-src 'none'; frame-ancestors 'none'"
// The docs page runs Scalar, served by the service itself, which needs inline styles and scripts.
const DOCS_POLICY =
  "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"

// One object per policy, copied onto each response's headers.
const API_HEADERS = { 'x-content-type-options': 'nosniff', 'content-security-policy': API_POLICY }
const DOCS_HEADERS = { 'x-content-type-options': 'nosniff', 'content-security-policy': DOCS_POLICY }

const isDocsPage = (path: string) => path === '/docs' || path === '/docs/'

/**
 * `securityHeaders()`: `X-Content-Type-Options: nosniff` and a content security policy on every
 * response: nothing at all for API answers, what Scalar needs for the docs page.
 */
export const securityHeaders = () =>
  new Elysia({ name: 'security-headers' }).onRequest(({ request, set }) => {
    Object.assign(set.headers, isDocsPage(pathOf(request.url)) ? DOCS_HEADERS : API_HEADERS)
  })
