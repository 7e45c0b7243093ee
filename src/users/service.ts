import type { PendingQuery, Sql } from 'postgres'
import { withDeadline } from '../db/deadline'
import { isUniqueViolation } from '../db/errors'
import { problems } from '../http/problems'
import { DEFAULT_PAGE_SIZE, type CreateUserInput, type ListUsersFilters, type UpdateUserInput, type User } from './schemas'

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

// postgres.js returns int8 as a string; ids stay far below 2^53.
const toUser = (row: UserRow): User => ({
  id: Number(row.id),
  name: row.name,
  email: row.email,
  age: row.age,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
})

// The unique index decides, so two concurrent writers of one email cannot both succeed.
const conflictIfEmailTaken = (error: unknown) => (isUniqueViolation(error, EMAIL_INDEX) ? problems.emailTaken() : error)

const escapeLike = (value: string) => value.replace(/[\\%_]/g, '\\$&')

/**
 * The users, on top of the one `sql` client: the field rules (`./fields`) are checked before a
 * call reaches here; the rules that need the data (a unique email, a user that exists) are
 * checked here. Every query gives up after `timeoutMs` (a 503 for the client) instead of waiting
 * for a stalled database or a full pool.
 */
export const createUserService = (sql: Sql, { timeoutMs }: { timeoutMs: number }) => {
  const columns = sql`id, name, email, age, created_at, updated_at`
  const withinDeadline = <Q extends PendingQuery<any>>(query: () => Q) => withDeadline(query, timeoutMs)

  return {
    async create(input: CreateUserInput): Promise<User> {
      try {
        const [row] = await withinDeadline(() => sql<UserRow[]>`
          insert into users (name, email, age)
          values (${input.name}, ${input.email}, ${input.age})
          returning ${columns}`)
        return toUser(row!)
      } catch (error) {
        throw conflictIfEmailTaken(error)
      }
    },

    async get(id: number): Promise<User> {
      const [row] = await withinDeadline(() => sql<UserRow[]>`select ${columns} from users where id = ${id}`)
      if (!row) throw problems.userNotFound()
      return toUser(row)
    },

    /** One page in id order; fetches one row more than asked to know whether another page exists. */
    async list(filters: ListUsersFilters): Promise<UserPage> {
      const limit = filters.limit ?? DEFAULT_PAGE_SIZE
      const rows = await withinDeadline(() => sql<UserRow[]>`
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
      try {
        const [row] = await withinDeadline(() => sql<UserRow[]>`
          update users set
            name = coalesce(${changes.name ?? null}, name),
            email = coalesce(${changes.email ?? null}, email),
            age = coalesce(${changes.age ?? null}::int, age),
            updated_at = clock_timestamp()
          where id = ${id}
          returning ${columns}`)
        if (!row) throw problems.userNotFound()
        return toUser(row)
      } catch (error) {
        throw conflictIfEmailTaken(error)
      }
    },

    async remove(id: number): Promise<void> {
      const { count } = await withinDeadline(() => sql`delete from users where id = ${id}`)
      if (count === 0) throw problems.userNotFound()
    },
  }
}

export type UserService = ReturnType<typeof createUserService>
