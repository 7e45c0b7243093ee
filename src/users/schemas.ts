/** The `t` schemas of the users routes, all built from the field rules in `./fields`. */
import { t, type Static } from 'elysia'
import { NO_CONTROL_CHARACTERS, decimalInteger, jsonInteger, strictEnum, strictText } from '../schema/strict-types'
import { AGE_RANGE, EMAIL_LENGTH, ID_RANGE, NAME_LENGTH, ROLES, userFields } from './fields'

export const DEFAULT_PAGE_SIZE = 100
export const MAX_PAGE_SIZE = 1000

const name = userFields.name({
  description: 'Surrounding white space is trimmed; 1–100 characters (code points) remain, none a control character. Stored exactly as sent.',
  example: 'Ada Lovelace',
})
const email = userFields.email({ description: 'A valid address (local@domain.tld), trimmed; unique among users regardless of case.', example: 'ada@example.com' })
const age = userFields.age({
  description: `A JSON integer (strings and fractions are 422). Outside ${AGE_RANGE.minimum}–${AGE_RANGE.maximum} it breaks a business rule: 400.`,
  example: 36,
})

const role = userFields.role({ description: '`user` (the default) or `admin`; with access control, only an admin may set it.' })
const password = userFields.password({
  description: 'Write-only, never returned. NFKC-normalised, 15–128 characters in that form, hard to guess (zxcvbn score ≥ 3), not the email or name. Without one, the user cannot log in.',
})
const currentPassword = userFields.password({ description: 'The caller’s current password: required to change one’s own password.' })

export const CreateUserBody = t.Object(
  { name, email, age, password: t.Optional(password), role: t.Optional(role) },
  { additionalProperties: false, example: { name: 'Ada Lovelace', email: 'ada@example.com', age: 36 } },
)

export const UpdateUserBody = t.Object(
  { name: t.Optional(name), email: t.Optional(email), age: t.Optional(age), password: t.Optional(password), current_password: t.Optional(currentPassword), role: t.Optional(role) },
  { additionalProperties: false, minProperties: 1, description: 'Any non-empty subset of name, email, age, password and role (with access control, current_password too for one’s own password).', example: { age: 37 } },
)

export const UserIdParams = t.Object({
  id: decimalInteger({ ...ID_RANGE, description: "The user's id, in decimal digits.", example: 1 }),
})

/**
 * The user a path segment names, as the route reads its id: decoded, in decimal digits (`03` and
 * `%33` are user 3); undefined when it names none.
 */
export const userIdIn = (segment: string) => {
  try {
    const text = decodeURIComponent(segment)
    const id = /^[0-9]+$/.test(text) ? Number(text) : 0
    return id > 0 && Number.isSafeInteger(id) ? id : undefined
  } catch {
    return undefined
  }
}

/** An optional query integer; `maximum` defaults to the largest id. */
const queryInteger = (description: string, minimum: number, maximum: number = ID_RANGE.maximum) =>
  t.Optional(decimalInteger({ minimum, maximum, description }))

export const ListUsersQuery = t.Object(
  {
    limit: queryInteger(`Page size, 1–${MAX_PAGE_SIZE}; ${DEFAULT_PAGE_SIZE} when absent.`, 1, MAX_PAGE_SIZE),
    after: queryInteger('Return only users whose id is greater (keyset paging); take it from the Link header.', 0),
    email: t.Optional(userFields.email({ description: 'Only the user with this email, compared case-insensitively.' })),
    name: t.Optional(strictText({ ...NAME_LENGTH, description: 'Only users whose name contains this, case-insensitively; % and _ match themselves.' })),
    min_age: queryInteger('Only users at least this old.', 0),
    max_age: queryInteger('Only users at most this old.', 0),
  },
  // Unknown query parameters are ignored.
  { additionalProperties: true },
)

export type CreateUserInput = Static<typeof CreateUserBody>
export type UpdateUserInput = Static<typeof UpdateUserBody>
export type ListUsersFilters = Static<typeof ListUsersQuery>

const timestamp = (description: string) => t.String({ format: 'date-time', maxLength: 24, description, example: '2026-11-23T10:00:00.000Z' })

/** A user as the API returns it (documentation and types: responses are built by the service). */
export const User = t.Object(
  {
    id: jsonInteger({ ...ID_RANGE, example: 1 }),
    name: t.String({ ...NAME_LENGTH, pattern: NO_CONTROL_CHARACTERS, example: 'Ada Lovelace' }),
    email: t.String({ ...EMAIL_LENGTH, format: 'email', example: 'ada@example.com' }),
    age: jsonInteger({ ...AGE_RANGE, example: 36 }),
    role: strictEnum(ROLES, { example: 'user' }),
    created_at: timestamp('When the user was created, in UTC.'),
    updated_at: timestamp('When the user last changed, in UTC.'),
  },
  { additionalProperties: false },
)

export type User = Static<typeof User>
