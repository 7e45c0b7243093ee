/** The `t` schemas of `/auth/*`. */
import { t, type Static } from 'elysia'
import { jsonInteger, strictEnum, strictText } from '../schema/strict-types'
import { userFields } from '../users/fields'

const email = userFields.email({ description: 'The account’s email (any case).', example: 'ada@example.com' })
// Any password may be tried (old accounts may predate a rule); the length only bounds the work.
const password = strictText({ minLength: 1, maxLength: 1024, controls: 'c0', description: 'The account’s password.' })
const refreshToken = strictText({ minLength: 1, maxLength: 256, description: 'A refresh token from `/auth/token` or `/auth/refresh`.' })

export const LoginJson = t.Object({ email, password }, { additionalProperties: false, example: { email: 'ada@example.com', password: 'correct horse battery staple' } })

// What an OAuth 2.0 client may send along with a grant, and the service does not use.
const ignored = () => t.Optional(strictText({ minLength: 0, maxLength: 1024, description: 'Ignored.' }))
const oauthExtras = { scope: ignored(), client_id: ignored(), client_secret: ignored() }

/** The OAuth 2.0 password grant (RFC 6749 §4.3), as the docs page and OAuth clients send it. */
export const LoginForm = t.Object(
  { grant_type: strictEnum(['password'], { description: 'Always `password`.' }), username: email, password, ...oauthExtras },
  { additionalProperties: false },
)

/**
 * What a form that is not the refresh grant is judged by: the password grant, its `grant_type` told
 * of both grants, so that a wrong one is listed with the form's other violations.
 */
export const AnyGrantLoginForm = t.Object({ ...LoginForm.properties, grant_type: strictEnum(['password', 'refresh_token']) }, { additionalProperties: false })

export const RefreshBody = t.Object({ refresh_token: refreshToken }, { additionalProperties: false })

/** The OAuth 2.0 refresh grant (RFC 6749 §6), sent to the token endpoint as OAuth clients do. */
export const RefreshForm = t.Object(
  { grant_type: strictEnum(['refresh_token'], { description: 'Always `refresh_token`.' }), refresh_token: refreshToken, ...oauthExtras },
  { additionalProperties: false },
)

export const TokenPair = t.Object(
  {
    access_token: t.String({ maxLength: 2048, pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$', description: 'A JWT (HS256) to send as `Authorization: Bearer ...`.' }),
    token_type: t.String({ enum: ['Bearer'], maxLength: 6 }),
    expires_in: jsonInteger({ minimum: 1, maximum: 86_400, description: 'Seconds the access token is valid.' }),
    refresh_token: t.String({ maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'Single use: trade it at `/auth/refresh` for a new pair.' }),
  },
  { additionalProperties: false },
)

export type LoginJson = Static<typeof LoginJson>
export type LoginForm = Static<typeof LoginForm>
export type RefreshBody = Static<typeof RefreshBody>
export type RefreshForm = Static<typeof RefreshForm>
