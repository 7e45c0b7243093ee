import { t, type Static } from 'elysia'
import { decimalInteger, jsonInteger, text } from '../http/strict-types'

export const AGE_MIN = 1
export const AGE_MAX = 120

const name = text({
  minLength: 1,
  maxLength: 100,
  trim: true,
  description: 'Surrounding white space is trimmed; 1–100 characters (code points) remain. Stored exactly as sent.',
  example: 'Ada Lovelace',
})
const EMAIL_RULE = { minLength: 3, maxLength: 254, trim: true, format: 'email' } as const
const email = text({
  ...EMAIL_RULE,
  description: 'A valid address (local@domain.tld), trimmed; unique among users regardless of case.',
  example: 'ada@example.com',
})
const age = jsonInteger({
  minimum: AGE_MIN,
  maximum: AGE_MAX,
  description: `A JSON integer (strings and fractions are 422). Outside ${AGE_MIN}–${AGE_MAX} it breaks a business rule: 400.`,
  example: 36,
})

export const CreateUserBody = t.Object({ name, email, age }, { additionalProperties: false })

export const UpdateUserBody = t.Object(
  { name: t.Optional(name), email: t.Optional(email), age: t.Optional(age) },
  { additionalProperties: false, minProperties: 1, description: 'Any non-empty subset of name, email and age.' },
)

export const UserIdParams = t.Object({
  id: decimalInteger({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: "The user's id." }),
})

const counter = (description: string, minimum: number, maximum = Number.MAX_SAFE_INTEGER) =>
  t.Optional(decimalInteger({ minimum, maximum, description }))

export const DEFAULT_PAGE_SIZE = 100

export const ListUsersQuery = t.Object(
  {
    limit: counter(`Page size, 1–1000; ${DEFAULT_PAGE_SIZE} when absent.`, 1, 1000),
    after: counter('Return only users whose id is greater (keyset paging); take it from the Link header.', 0),
    email: t.Optional(text({ ...EMAIL_RULE, description: 'Exact email, compared case-insensitively.' })),
    name: t.Optional(
      text({ minLength: 1, maxLength: 100, description: 'Case-insensitive substring of the name; % and _ match themselves.' }),
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

/** A user as the API returns it. */
export const User = t.Object({
  id: jsonInteger({ minimum: 1, example: 1 }),
  name: t.String({ maxLength: 100, example: 'Ada Lovelace' }),
  email: t.String({ format: 'email', maxLength: 254, example: 'ada@example.com' }),
  age: jsonInteger({ minimum: AGE_MIN, maximum: AGE_MAX, example: 36 }),
  created_at: t.String({ format: 'date-time', maxLength: 30, example: '2026-11-23T10:00:00.000Z' }),
  updated_at: t.String({ format: 'date-time', maxLength: 30, example: '2026-11-23T10:00:00.000Z' }),
})

export type User = Static<typeof User>
