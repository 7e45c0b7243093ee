import type { PendingQuery, Sql } from 'postgres'
import { withDeadline } from '../db/deadline'
import { isUniqueViolation } from '../db/errors'
import { Problem } from '../http/problem'
import {
  AGE_MAX,
  AGE_MIN,
  DEFAULT_PAGE_SIZE,
  type CreateUserInput,
  type ListUsersFilters,
  type UpdateUserInput,
  type User,
} from './schemas'

interface UserRow {
  id: string
  name: string
  email: string
  age: number
  created_at: Date
  updated_at: Date
}

export interface UserPage {
  users: User[]
  /** The `after` of the next page; absent on the last page. */
  nextAfter?: number
}

const EMAIL_INDEX = 'users_email_lower_key'

const notFound = () => new Problem(404, 'User not found')

// postgres.js returns int8 as a string; ids stay far below 2^53.
const toUser = (row: UserRow): User => ({
  id: Number(row.id),
  name: row.name,
  email: row.email,
  age: row.age,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
})

const checkAge = (age: number | undefined) => {
  if (age !== undefined && (age < AGE_MIN || age > AGE_MAX))
    throw new Problem(400, `age must be between ${AGE_MIN} and ${AGE_MAX}`, {
      errors: [{ field: 'age', message: `must be between ${AGE_MIN} and ${AGE_MAX}` }],
    })
}

// The unique index decides, so two concurrent writers of one email cannot both succeed.
const emailTakenOr = (error: unknown) =>
  isUniqueViolation(error, EMAIL_INDEX)
    ? new Problem(409, 'A user with this email already exists', { errors: [{ field: 'email', message: 'is already taken' }] })
    : error

const escapeLike = (value: string) => value.replace(/[\\%_]/g, '\\$&')

/**
 * The business rules for users, on top of the one `sql` client. Every query gives up after
 * `timeoutMs` (a 503 for the client) instead of waiting for a stalled database or a full pool.
 */
export const createUserService = (sql: Sql, { timeoutMs }: { timeoutMs: number }) => {
  const columns = sql`id, name, email, age, created_at, updated_at`
  const run = <Q extends PendingQuery<any>>(query: () => Q) => withDeadline(query, timeoutMs)

  return {
    async create(input: CreateUserInput): Promise<User> {
      checkAge(input.age)
      try {
        const [row] = await run(() => sql<UserRow[]>`
          insert into users (name, email, age)
          values (${input.name}, ${input.email}, ${input.age})
          returning ${columns}`)
        return toUser(row!)
      } catch (error) {
        throw emailTakenOr(error)
      }
    },

    async get(id: number): Promise<User> {
      const [row] = await run(() => sql<UserRow[]>`select ${columns} from users where id = ${id}`)
      if (!row) throw notFound()
      return toUser(row)
    },

    /** One page in id order; fetches one row more than asked to know whether another page exists. */
    async list(filters: ListUsersFilters): Promise<UserPage> {
      const limit = filters.limit ?? DEFAULT_PAGE_SIZE
      const rows = await run(() => sql<UserRow[]>`
        select ${columns} from users
        where id > ${filters.after ?? 0}
          ${filters.email === undefined ? sql`` : sql`and lower(email) = lower(${filters.email})`}
          ${filters.name === undefined ? sql`` : sql`and name ilike ${`%${escapeLike(filters.name)}%`}`}
          ${filters.min_age === undefined ? sql`` : sql`and age >= ${filters.min_age}::int8`}
          ${filters.max_age === undefined ? sql`` : sql`and age <= ${filters.max_age}::int8`}
        order by id
        limit ${limit + 1}`)
      const users = rows.slice(0, limit).map(toUser)
      return rows.length > limit ? { users, nextAfter: users.at(-1)!.id } : { users }
    },

    async update(id: number, changes: UpdateUserInput): Promise<User> {
      checkAge(changes.age)
      try {
        const [row] = await run(() => sql<UserRow[]>`
          update users set
            name = coalesce(${changes.name ?? null}, name),
            email = coalesce(${changes.email ?? null}, email),
            age = coalesce(${changes.age ?? null}::int, age),
            updated_at = clock_timestamp()
          where id = ${id}
          returning ${columns}`)
        if (!row) throw notFound()
        return toUser(row)
      } catch (error) {
        throw emailTakenOr(error)
      }
    },

    async remove(id: number): Promise<void> {
      const { count } = await run(() => sql`delete from users where id = ${id}`)
      if (count === 0) throw notFound()
    },
  }
}

export type UserService = ReturnType<typeof createUserService>
