/**
 * `/auth/*`: log in (JSON, or the OAuth 2.0 password grant as a form), refresh (JSON, or the OAuth
 * 2.0 refresh grant as a form at the token endpoint, as RFC 6749 §6 has it), log out (JSON). No
 * token is needed here. Every answer, errors included, says `Cache-Control: no-store`.
 */
import { Elysia, type TSchema } from 'elysia'
import type { ClientAddress } from '../http/client-address'
import { requireMigrated, type ServiceState } from '../http/health'
import { FORM_BODY } from '../http/json-body'
import { jsonResponse, responses, schemaRef } from '../http/openapi'
import { assertValid } from '../http/validation-errors'
import type { Logins } from './logins'
import { AnyGrantLoginForm, LoginForm, LoginJson, RefreshBody, RefreshForm } from './schemas'

const NO_STORE = {
  'Cache-Control': { description: 'Always `no-store`: tokens are not to be cached.', required: true, schema: { type: 'string' as const, enum: ['no-store'], maxLength: 8 } },
}
// The problem responses are shared with every route: their `Cache-Control` is said here.
const ALWAYS_NO_STORE = ' Every answer, errors included, carries `Cache-Control: no-store`.'
const TokenPairRef = schemaRef('TokenPair')
const TOKEN_EXAMPLE = { access_token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl', token_type: 'Bearer', expires_in: 900, refresh_token: 'q0Zx3nW8yJ4bT1uV7cR2kL9mP5sD6fG0hA3eB8iO1nU' }
type Body = { schema: TSchema; example: unknown }
/** A request body as JSON, and, where the body parser takes one (`FORM_PATHS`), as an OAuth 2.0 form. */
const bodyOf = (json: Body, form?: Body) => ({
  required: true,
  content: { 'application/json': json, ...(form ? { 'application/x-www-form-urlencoded': form } : {}) },
})
const REFRESH_EXAMPLE = { refresh_token: TOKEN_EXAMPLE.refresh_token }

/** A form's fields, when the body parser read a form (only on `FORM_PATHS`); undefined for JSON. */
const formFields = (body: unknown) => {
  if (typeof body !== 'object' || body === null || !(FORM_BODY in body)) return undefined
  const { [FORM_BODY]: _, ...fields } = body as Record<string | symbol, unknown>
  return fields
}

/**
 * What a `/auth/token` body asks for: a login's email and password (JSON, or the password grant's
 * form), or the refresh grant's token (a form); the body parser has dealt with anything else.
 */
const readGrant = (body: unknown): { email: string; password: string } | { refreshToken: string } => {
  const fields = formFields(body)
  if (fields) {
    if (fields.grant_type === 'refresh_token') return { refreshToken: assertValid<RefreshForm>(RefreshForm, fields).refresh_token }
    const form = assertValid<LoginForm>(AnyGrantLoginForm, fields)
    return { email: form.username.trim(), password: form.password }
  }
  const login = assertValid<LoginJson>(LoginJson, body)
  return { email: login.email.trim(), password: login.password }
}

/** The refresh token of a refresh or a logout. */
const readRefresh = (body: unknown) => assertValid<RefreshBody>(RefreshBody, body).refresh_token

const AUTH_URL = /^[a-z]+:\/\/[^/]*\/auth\//i

/** The paths where the body parser also takes a form: the token endpoint alone (the OAuth 2.0 password and refresh grants). */
export const FORM_PATHS = ['/auth/token']

export const authRoutes = ({ logins, clientOf, state }: { logins: Logins; clientOf: ClientAddress; state: ServiceState }) =>
  new Elysia({ name: 'auth', prefix: '/auth' })
    // Before the body is read, so that its errors (413, 415, 400) say it too.
    .onRequest(({ request, set }) => {
      if (AUTH_URL.test(request.url)) set.headers['cache-control'] = 'no-store'
    })
    // The tables they use may not be there yet (an upgrade's migrations are running): 503.
    .onBeforeHandle(requireMigrated(state))
    .post(
      '/token',
      async ({ body, request, server }) => {
        const grant = readGrant(body)
        return 'refreshToken' in grant ? await logins.refresh(grant.refreshToken) : await logins.login(grant.email, grant.password, clientOf(request, server))
      },
      {
        detail: {
          summary: 'Log in',
          description:
            'Trades an email and password for an access token and a refresh token. A wrong password, an unknown email and an account without a password get the same 401. ' +
            'As a form, it also takes the OAuth 2.0 refresh grant (`grant_type=refresh_token`), which does what `/auth/refresh` does. ' +
            'After 5 failures for one email from one client within 15 minutes, that pair gets 429 until the oldest leaves the window; after 100 from all clients within 24 hours, the email does.' +
            ALWAYS_NO_STORE,
          tags: ['auth'],
          security: [],
          requestBody: bodyOf(
            { schema: LoginJson, example: LoginJson.example },
            { schema: { oneOf: [LoginForm, RefreshForm] } as unknown as TSchema, example: { grant_type: 'password', username: 'ada@example.com', password: 'correct horse battery staple' } },
          ),
          responses: responses({ 200: jsonResponse('Logged in.', TokenPairRef, { headers: NO_STORE, example: TOKEN_EXAMPLE }) }, 400, 401, 413, 415, 422, 503),
        },
      },
    )
    .post('/refresh', ({ body }) => logins.refresh(readRefresh(body)), {
      detail: {
        summary: 'Trade a refresh token for a new pair',
        description: 'The refresh token is single use: it is retired now. Presenting a retired one again revokes every token of its login.' + ALWAYS_NO_STORE,
        tags: ['auth'],
        security: [],
        requestBody: bodyOf({ schema: RefreshBody, example: REFRESH_EXAMPLE }),
        responses: responses({ 200: jsonResponse('A new pair.', TokenPairRef, { headers: NO_STORE, example: TOKEN_EXAMPLE }) }, 400, 401, 413, 415, 422, 503),
      },
    })
    .post(
      '/logout',
      async ({ body, set }) => {
        await logins.logout(readRefresh(body))
        set.status = 204
      },
      {
        detail: {
          summary: 'Log out',
          description: 'Revokes the refresh token and every token of its login.' + ALWAYS_NO_STORE,
          tags: ['auth'],
          security: [],
          requestBody: bodyOf({ schema: RefreshBody, example: REFRESH_EXAMPLE }),
          responses: responses({ 204: { description: 'Logged out; no body.', headers: NO_STORE } }, 400, 401, 413, 415, 422, 503),
        },
      },
    )
