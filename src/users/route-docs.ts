/**
 * The OpenAPI side of the users routes: each operation's summary, description, parameters that no
 * `t` schema declares (the conditional and idempotency headers, read by the handlers themselves)
 * and responses, with their headers.
 */
import { t } from 'elysia'
import { SECURED, jsonResponse, problemResponseWith, responses, schemaRef } from '../http/openapi'
import type { ProblemStatus } from '../http/problem'
import { ID_RANGE } from './fields'
import { MAX_PAGE_SIZE } from './schemas'

const USER_EXAMPLE = {
  id: 1,
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  age: 36,
  role: 'user',
  created_at: '2026-11-23T10:00:00.000Z',
  updated_at: '2026-11-23T10:00:00.000Z',
}
const UserRef = schemaRef('User')
const text = (maxLength: number, pattern: string, example: string) => ({ type: 'string' as const, maxLength, pattern, example })
const ETAG_PATTERN = '^"[1-9][0-9]*-[1-9][0-9]*"$'

// The longest link: every filter at its longest, percent-encoded (up to 12 characters for each of
// the 100 code points of `name`, 3 for each of the 254 characters of `email`): 2,079 characters.
const LINK = {
  Link: {
    description: 'The next page, with the filters and limit of this request: `</users?...&after=N>; rel="next"`; absent on the last page.',
    schema: text(2100, '^</users\\?[^>]*>; rel="next"$', '</users?limit=100&after=100>; rel="next"'),
  },
}
const LOCATION = { Location: { description: 'The new user: `/users/{id}`.', required: true, schema: text(23, '^/users/[1-9][0-9]*$', '/users/1') } }
const ETAG = { ETag: { description: 'The user’s current version (a strong validator): send it in `If-Match` or `If-None-Match`.', required: true, schema: text(40, ETAG_PATTERN, '"1-3"') } }
const PRIVATE = { 'Cache-Control': { description: 'Only the caller may cache it.', required: true, schema: text(7, '^private$', 'private') } }
const VARY = { Vary: { description: 'The answer depends on the token (and on the Origin, with CORS on).', required: true, schema: text(40, '^(Origin, )?Authorization$', 'Authorization') } }
const REPLAYED = {
  'Idempotent-Replayed': { description: 'Present on a replay: the kept answer to an earlier request with this `Idempotency-Key`.', schema: text(4, '^true$', 'true') },
}

const header = (name: string, description: string, schema: object) => ({ in: 'header', name, required: false, description, schema })
const ID = {
  in: 'path',
  name: 'id',
  required: true,
  description: "The user's id, in decimal digits.",
  schema: { type: 'integer', format: 'int64', ...ID_RANGE, example: 1 },
}
// No example: the docs page would send it with every "Test Request" (a read with `If-Match` gets 412).
const TAGS = { type: 'string' as const, maxLength: 4096, pattern: '^.*$' }
const IF_NONE_MATCH = header('If-None-Match', 'The `ETag` you hold (or `*`): 304 without a body when it is still current (weak comparison).', TAGS)
const IF_MATCH_READ = header('If-Match', 'The `ETag` you expect (or `*`): 412 unless the user is still at that version (strong comparison).', TAGS)
const IF_MATCH = header(
  'If-Match',
  'The `ETag` you read (or `*`): the change happens only if the user is still at that version, else 412 (strong comparison). Required with `REQUIRE_IF_MATCH` (428).',
  TAGS,
)
const IF_NONE_MATCH_CHANGE = header('If-None-Match', 'ETags the change must not replace: 412 if the current one is among them (weak comparison); `*`: 412 whenever the user exists.', TAGS)
const IDEMPOTENCY_KEY = header(
  'Idempotency-Key',
  'A unique key (1–255 printable ASCII, e.g. a random UUID; the quoted form `"…"` is accepted too) making a retry safe: for 24 hours the same key with the same body gets the first answer again (201, 409, or a 400/422 about the body) with `Idempotent-Replayed: true`, and creates nothing; with another body, 422; while the first runs, 409. Keys are per token user (global without a token).',
  // At most 255 characters bare; quoted, each `"` or `\\` escaped: 2 + 2 × 255. No example: the
  // docs page would send that one key with every "Test Request", and a second user made there
  // would get the first one's answer (or a 422 for its other body).
  { type: 'string' as const, maxLength: 512, pattern: '^[\\x20-\\x7e]{1,512}$' },
)

const ME = { summary: ' (yourself)', description: ' The token’s own user: `/users/me` is `/users/{id}` with your id.' }
const BY_ID = { summary: '', description: '' }
type Target = typeof ME

/** The `detail` of each users operation, for this configuration. */
export const usersDocs = ({ auth, signupOpen }: { auth: boolean; signupOpen: boolean }) => {
  const secured = auth ? { security: SECURED } : {}
  const guarded = (...statuses: ProblemStatus[]): ProblemStatus[] => (auth ? [401, 403, ...statuses] : statuses)
  const common = (target: Target) => ({ ...(target === ME && !auth ? { hide: true } : {}), tags: ['users'], ...secured })
  const single = (target: Target) => ({ ...ETAG, ...PRIVATE, ...(target === ME ? VARY : {}) })
  const idOf = (target: Target) => (target === ME ? [] : [ID])
  return {
    ME,
    BY_ID,
    create: {
      summary: 'Create a user',
      description:
        'Name and email are trimmed; the email must not belong to another user, in any case. ' +
        (auth ? 'Admins only; with sign-up open, anyone without a token may create a `user` (password required, no role). ' : '') +
        'With `Idempotency-Key`, a retry is safe (see the parameter).',
      tags: ['users'],
      ...(auth && signupOpen ? { security: [...SECURED, {}] } : secured),
      parameters: [IDEMPOTENCY_KEY],
      responses: responses(
        {
          201: jsonResponse('Created: the new user.', UserRef, { headers: { ...LOCATION, ...ETAG, ...PRIVATE, ...REPLAYED }, example: USER_EXAMPLE }),
          // What an Idempotency-Key keeps besides the 201, and replays.
          400: problemResponseWith(400, REPLAYED),
          409: problemResponseWith(409, REPLAYED),
          422: problemResponseWith(422, REPLAYED),
        },
        ...guarded(400, 409, 413, 415, 422, 503),
      ),
    },
    list: {
      summary: 'List users by id, filtered, a page at a time',
      description:
        `Users in id order${auth ? ' (admins only)' : ''}. Filters combine with AND, and with paging; while more users match, \`Link\` gives the next page. ` +
        'Integer parameters are plain decimal digits; unknown parameters are ignored; of a repeated one, the last counts.',
      tags: ['users'],
      ...secured,
      responses: responses(
        { 200: jsonResponse('A page of users in id order (possibly empty).', t.Array(UserRef, { maxItems: MAX_PAGE_SIZE }), { headers: { ...LINK, ...PRIVATE }, example: [USER_EXAMPLE] }) },
        ...guarded(422, 503),
      ),
    },
    read: (target: Target) => ({
      ...common(target),
      summary: `Read a user${target.summary}`,
      description: `The user with this id${auth ? ' (admins: anyone; users: themselves)' : ''}.${target.description}`,
      parameters: [...idOf(target), IF_NONE_MATCH, IF_MATCH_READ],
      responses: responses(
        {
          200: jsonResponse('The user.', UserRef, { headers: single(target), example: USER_EXAMPLE }),
          304: { description: '`If-None-Match` names the current `ETag`: what you hold is current. No body.', headers: single(target) },
        },
        ...guarded(404, 412, 422, 503),
      ),
    }),
    update: (target: Target) => ({
      ...common(target),
      summary: `Change some of a user’s fields${target.summary}`,
      description:
        'Any non-empty subset of the fields, under the rules of create; `updated_at` moves. ' +
        (auth ? 'Only an admin sets `role`; changing your own password needs `current_password`. A new password or role ends the user’s tokens. ' : '') +
        `Demoting the last admin is a 409.${target.description}`,
      parameters: [...idOf(target), IF_MATCH, IF_NONE_MATCH_CHANGE],
      responses: responses(
        { 200: jsonResponse('The updated user.', UserRef, { headers: single(target), example: { ...USER_EXAMPLE, age: 37, updated_at: '2026-11-24T09:30:00.000Z' } }) },
        ...guarded(400, 404, 409, 412, 413, 415, 422, 428, 503),
      ),
    }),
    remove: (target: Target) => ({
      ...common(target),
      summary: `Delete a user${target.summary}`,
      description: `Deletion is real: the email is free again. Deleting twice gives 404 the second time; the last admin cannot be deleted (409).${target.description}`,
      parameters: [...idOf(target), IF_MATCH, IF_NONE_MATCH_CHANGE],
      responses: responses({ 204: { description: 'Deleted; no body.' } }, ...guarded(404, 409, 412, 422, 428, 503)),
    }),
  }
}
