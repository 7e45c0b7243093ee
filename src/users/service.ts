import type { PendingQuery, Sql } from 'postgres'
import { callerCheck, type Caller, type Role } from '../auth/tokens'
import { withDeadline } from '../db/deadline'
import { isUniqueViolation } from '../db/errors'
import { problems } from '../http/problems'
import { preconditionSql, unchangedSql, whyUnchanged, type Unchanged, type WriteCondition } from './preconditions'
import { DEFAULT_PAGE_SIZE, type ListUsersFilters, type User } from './schemas'
import { apiTimestamp } from './timestamp-text'

interface UserRow {
  id: string
  name: string
  email: string
  age: number
  role: Role
  /** As PostgreSQL writes a `timestamptz`: see `./timestamp-text`. */
  created_at: string
  updated_at: string
  version: number
}

/** A user and the version their row is at (the `ETag` is made from it). */
export interface VersionedUser {
  user: User
  version: number
}

/** Whether the caller's `sub` and `ver` still hold (always true without access control). */
interface Checked {
  caller_ok: boolean
}

export interface UserPage {
  users: User[]
  /** The `after` of the next page; absent on the last page. */
  nextAfter?: number
}

/** What is stored for a new user: the fields, and the password's hash rather than the password. */
export interface NewUser {
  name: string
  email: string
  age: number
  role?: Role
  passwordHash?: string
}

export type UserChanges = Partial<NewUser>

const EMAIL_INDEX = 'users_email_lower_key'

// postgres.js returns int8 as a string; ids stay far below 2^53.
const toUser = ({ id, name, email, age, role, created_at, updated_at }: UserRow): User =>
  ({ id: Number(id), name, email, age, role, created_at: apiTimestamp(created_at), updated_at: apiTimestamp(updated_at) })
const versioned = (row: UserRow): VersionedUser => ({ user: toUser(row), version: row.version })

// The unique index decides, so two concurrent writers of one email cannot both succeed.
const conflictIfEmailTaken = (error: unknown) => (isUniqueViolation(error, EMAIL_INDEX) ? problems.emailTaken() : error)

const escapeLike = (value: string) => value.replace(/[\\%_]/g, '\\$&')

/** A token whose user is gone or whose version moved (password or role changed) is refused. */
const refuseStale = <R extends Checked>(row: R | undefined): R => {
  if (!row?.caller_ok) throw problems.unauthorized('invalid')
  return row
}

/**
 * The users, on top of the one `sql` client: the field rules (`./fields`) and who may make the
 * call (`../auth/guard`) are checked before a call reaches here; the rules that need the data (a
 * unique email, a user that exists, the last admin) are checked here. With a `caller`, every
 * statement also checks that the caller still exists with the token's version: in the same
 * statement, so that costs no extra round trip. Every query gives up after `timeoutMs` (a 503).
 * `inTransaction`: `sql` is a transaction's (see `withDeadline`).
 */
export const createUserService = (sql: Sql, { timeoutMs, inTransaction = false }: { timeoutMs: number; inTransaction?: boolean }) => {
  // The timestamps come as the server's text, reshaped by toUser (see ./timestamp-text); a page
  // leaves out the version, which only a single user's ETag needs.
  const fields = sql`id, name, email, age, role, created_at::text as created_at, updated_at::text as updated_at`
  const columns = sql`${fields}, version`
  const withinDeadline = <Q extends PendingQuery<any>>(query: () => Q) => withDeadline(query, timeoutMs, { inTransaction })
  const callerOk = callerCheck(sql)
  // After a read that found nothing: a stale token is a 401, not an empty answer.
  const checkCaller = async (caller: Caller) => void refuseStale((await withinDeadline(() => sql<Checked[]>`select ${callerOk(caller)} as caller_ok`))[0])
  // User `id` as it is now, by a statement of its own (see whyUnchanged).
  const lookAgain = (id: number) => async () => (await withinDeadline(() => sql<Unchanged[]>`select ${unchangedSql(sql, id)}, false as last_admin`))[0]!

  return {
    async create(input: NewUser, caller?: Caller): Promise<VersionedUser> {
      try {
        const [row] = await withinDeadline(() => sql<(UserRow & Checked)[]>`
          with checked as (select ${callerOk(caller)} as caller_ok),
          inserted as (
            insert into users (name, email, age, role, password_hash)
            select ${input.name}, ${input.email}, ${input.age}, ${input.role ?? 'user'}, ${input.passwordHash ?? null}
            from checked where caller_ok
            returning ${columns})
          select checked.caller_ok, inserted.* from checked left join inserted on true`)
        return versioned(refuseStale(row))
      } catch (error) {
        throw conflictIfEmailTaken(error)
      }
    },

    async get(id: number, caller?: Caller): Promise<VersionedUser> {
      // Reading oneself: the row read is the caller's, so one lookup checks both (none: the token is stale).
      if (caller?.id === id) {
        const [own] = await withinDeadline(() => sql<UserRow[]>`select ${columns} from users where id = ${id} and token_version = ${caller.ver}`)
        if (!own) throw problems.unauthorized('invalid')
        return versioned(own)
      }
      // The caller's check is a one-time filter of the read; only a miss takes a second look, to
      // tell a stale token (401) from a missing user (404).
      const [row] = await withinDeadline(() => sql<UserRow[]>`select ${columns} from users where id = ${id} and ${callerOk(caller)}`)
      if (row) return versioned(row)
      if (caller) await checkCaller(caller)
      throw problems.userNotFound()
    },

    /** One page in id order; fetches one row more than asked to know whether another page exists. */
    async list(filters: ListUsersFilters, caller?: Caller): Promise<UserPage> {
      const limit = filters.limit ?? DEFAULT_PAGE_SIZE
      // The caller's check is a one-time filter, as in `get`: an empty page takes a second look.
      const rows = await withinDeadline(() => sql<UserRow[]>`
        select ${fields} from users
        where id > ${filters.after ?? 0}
          ${filters.email === undefined ? sql`` : sql`and lower(email) = lower(${filters.email})`}
          ${filters.name === undefined ? sql`` : sql`and name ilike ${`%${escapeLike(filters.name)}%`}`}
          ${filters.min_age === undefined ? sql`` : sql`and age >= ${filters.min_age}::int8`}
          ${filters.max_age === undefined ? sql`` : sql`and age <= ${filters.max_age}::int8`}
          and ${callerOk(caller)}
        order by id
        limit ${limit + 1}`)
      if (rows.length === 0 && caller) await checkCaller(caller)
      const users = rows.slice(0, limit).map(toUser)
      return rows.length > limit ? { users, nextAfter: users.at(-1)!.id } : { users }
    },

    /**
     * Changes some fields. A new password or role moves the user's token version (their tokens die);
     * a new password revokes their refresh tokens. Demoting the last admin is a 409, even when two
     * admins demote each other at once: the admins are locked first.
     */
    async update(id: number, changes: UserChanges, caller?: Caller, condition: WriteCondition = {}): Promise<VersionedUser> {
      const demoting = changes.role === 'user'
      const newPassword = changes.passwordHash !== undefined
      try {
        const [row] = await withinDeadline(() => sql<(UserRow & Checked & Unchanged)[]>`
          with checked as (select ${callerOk(caller)} as caller_ok),
          admins as (select id from users where role = 'admin' and ${demoting} order by id for update),
          blocked as (
            select ${demoting} and exists (select 1 from users where id = ${id} and role = 'admin')
              and (select count(*) from admins) <= 1 as last_admin),
          updated as (
            update users set
              name = coalesce(${changes.name ?? null}, name),
              email = coalesce(${changes.email ?? null}, email),
              age = coalesce(${changes.age ?? null}::int, age),
              role = coalesce(${changes.role ?? null}, role),
              password_hash = coalesce(${changes.passwordHash ?? null}, password_hash),
              token_version = token_version + case
                when ${newPassword} or role is distinct from coalesce(${changes.role ?? null}, role) then 1 else 0 end,
              updated_at = clock_timestamp(),
              version = version + 1
            where id = ${id} and (select caller_ok from checked) and not (select last_admin from blocked) and ${preconditionSql(sql, condition)}
            returning ${columns}),
          revoked as (
            update refresh_tokens set revoked_at = clock_timestamp()
            where ${newPassword} and user_id in (select id from updated) and revoked_at is null)
          select checked.caller_ok, blocked.last_admin, ${unchangedSql(sql, id)}, updated.*
          from checked cross join blocked left join updated on true`)
        if (!refuseStale(row).id) throw await whyUnchanged(row!, condition, lookAgain(id))
        // A log-in stored while this statement waited on the row escaped its revocation: revoked now.
        if (newPassword) await withinDeadline(() => sql`update refresh_tokens set revoked_at = clock_timestamp() where user_id = ${id} and revoked_at is null`)
        return versioned(row!)
      } catch (error) {
        throw conflictIfEmailTaken(error)
      }
    },

    /** Deletes a user, unless they are the last admin (409). */
    async remove(id: number, caller?: Caller, condition: WriteCondition = {}): Promise<void> {
      const [row] = await withinDeadline(() => sql<(Checked & Unchanged & { deleted: boolean })[]>`
        with checked as (select ${callerOk(caller)} as caller_ok),
        admins as (select id from users where role = 'admin' order by id for update),
        blocked as (
          select exists (select 1 from users where id = ${id} and role = 'admin') and (select count(*) from admins) <= 1 as last_admin),
        deleted as (
          delete from users where id = ${id} and (select caller_ok from checked) and not (select last_admin from blocked) and ${preconditionSql(sql, condition)}
          returning id)
        select checked.caller_ok, blocked.last_admin, ${unchangedSql(sql, id)}, exists (select 1 from deleted) as deleted
        from checked cross join blocked`)
      if (refuseStale(row).deleted) return
      throw await whyUnchanged(row!, condition, lookAgain(id))
    },
  }
}

export type UserService = ReturnType<typeof createUserService>
