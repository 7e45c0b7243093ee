import { t, type Static } from 'elysia'
import { decimalInteger, jsonInteger, text } from '../http/strict-types'

export const AGE_MIN = 1
export const AGE_MAX = 120
export const DEFAULT_PAGE_SIZE = 100
export const MAX_PAGE_SIZE = 1000
const MAX_ID = Number.MAX_SAFE_INTEGER

/** For the document: no control characters (the trimmed text is checked in code, by code points). */
const NO_CONTROL_CHARACTERS = '^[^\\u0000-\\u001F\\u007F]*$'

const name = text({
  minLength: 1,
  maxLength: 100,
  trim: true,
  pattern: NO_CONTROL_CHARACTERS,
  description: 'Surrounding white space is trimmed; 1–100 characters (code points) remain, none a control character. Stored exactly as sent.',
  example: 'Ada Lovelace',
})
const EMAIL_RULE = { minLength: 3, maxLength: 254, trim: true, format: 'email' } as const
const email = text({
  ...EMAIL_RULE,
  description: 'A valid address (local@domain.tld), trimmed; unique among users regardless of case.',
  example: 'ada@example.com',
})
const age = jsonInteger({
  format: 'int32',
  minimum: AGE_MIN,
  maximum: AGE_MAX,
  description: `A JSON integer (strings and fractions are 422). Outside ${AGE_MIN}–${AGE_MAX} it breaks a business rule: 400.`,
  example: 36,
})

export const CreateUserBody = t.Object(
  { name, email, age },
  { additionalProperties: false, example: { name: 'Ada Lovelace', email: 'ada@example.com', age: 36 } },
)

export const UpdateUserBody = t.Object(
  { name: t.Optional(name), email: t.Optional(email), age: t.Optional(age) },
  {
    additionalProperties: false,
    minProperties: 1,
    description: 'Any non-empty subset of name, email and age.',
    example: { age: 37 },
  },
)

export const UserIdParams = t.Object({
  id: decimalInteger({ format: 'int64', minimum: 1, maximum: MAX_ID, description: "The user's id, in decimal digits.", example: 1 }),
})

const counter = (description: string, minimum: number, maximum = MAX_ID) =>
  t.Optional(decimalInteger({ format: maximum > 2 ** 31 - 1 ? 'int64' : 'int32', minimum, maximum, description }))

export const ListUsersQuery = t.Object(
  {
    limit: counter(`Page size, 1–${MAX_PAGE_SIZE}; ${DEFAULT_PAGE_SIZE} when absent.`, 1, MAX_PAGE_SIZE),
    after: counter('Return only users whose id is greater (keyset paging); take it from the Link header.', 0),
    email: t.Optional(text({ ...EMAIL_RULE, description: 'Only the user with this email, compared case-insensitively.' })),
    name: t.Optional(
      text({
        minLength: 1,
        maxLength: 100,
        pattern: NO_CONTROL_CHARACTERS,
        description: 'Only users whose name contains this, case-insensitively; % and _ match themselves.',
      }),
    ),
    min_age: counter('Only users at least this old.', 0),
    max_age: counter('Only users at most this old.', 0),
  },
  // Unknown query parameters are ignored, as the contract says.
  { additionalProperties: true },
)

export type CreateUserInput = Static<typeof CreateUserBody>
export type UpdateUserInput = Static<typeof UpdateUserBody>
export type ListUsersFilters = Static<typeof ListUsersQuery>

const timestamp = (description: string) =>
  t.String({ format: 'date-time', maxLength: 24, description, example: '2026-11-23T10:00:00.000Z' })

/** A user as the API returns it (documentation only: responses are built by the service). */
export const User = t.Object(
  {
    id: jsonInteger({ format: 'int64', minimum: 1, maximum: MAX_ID, example: 1 }),
    name: t.String({ minLength: 1, maxLength: 100, pattern: NO_CONTROL_CHARACTERS, example: 'Ada Lovelace' }),
    email: t.String({ format: 'email', minLength: 3, maxLength: 254, example: 'ada@example.com' }),
    age: jsonInteger({ format: 'int32', minimum: AGE_MIN, maximum: AGE_MAX, example: 36 }),
    created_at: timestamp('When the user was created, in UTC.'),
    updated_at: timestamp('When the user last changed, in UTC.'),
  },
  { additionalProperties: false },
)

export type User = Static<typeof User>
