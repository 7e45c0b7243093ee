/**
 * The rules on the fields only some callers may write, applied after the request is validated
 * (the guard has already decided who may make the call): a new password must be strong (422) and
 * is hashed here, so the service never sees it; changing one's own password needs
 * `current_password` (422; checked like a login: a wrong one counts as a failed login, and a
 * throttled pair gets 429); only an admin sets `role` (403, after those 422s: the request's faults
 * come first). A body its schema refuses gets these faults listed with the schema's
 * (`faultsBeside`): one 422 names every violation.
 */
import type { Sql } from 'postgres'
import { withDeadline } from '../db/deadline'
import { madeFromRequest, type FieldError } from '../http/problem'
import { WRONG_CURRENT_PASSWORD, problems } from '../http/problems'
import { trimWhiteSpace } from '../schema/strict-types'
import type { CreateUserInput, UpdateUserInput } from '../users/schemas'
import { preconditionRefusal, type WriteCondition } from '../users/preconditions'
import type { NewUser, UserChanges } from '../users/service'
import type { Logins } from './logins'
import { passwordWeakness, type Hasher } from './passwords'
import { callerCheck, type Caller } from './tokens'

const fault = (field: string, message: string): FieldError => ({ field, message })

interface AccountFields {
  password?: string
  current_password?: string
}

interface Owner {
  email?: string
  name?: string
}

interface Judged {
  signup?: boolean
  own?: boolean
  /** Whose email and name a new password must not be; asked only when its strength is judged. */
  owner: () => Owner | Promise<Owner>
  /** Whether the password's strength is judged (not when the schema has refused its form). */
  strength?: boolean
}

/**
 * Every fault of a body's account fields: a sign-up without a password, a weak one, one's own
 * password changed without `current_password`, or `current_password` alone.
 */
const accountFaults = async ({ password, current_password }: AccountFields, { signup = false, own = false, owner, strength = true }: Judged) => {
  if (password === undefined) {
    if (signup) return [fault('password', 'is required to sign up')]
    // Alone it would change nothing, yet move the version (and every client's If-Match).
    return current_password === undefined ? [] : [fault('current_password', 'is only accepted with password')]
  }
  const weakness = strength ? await passwordWeakness(password, await owner()) : undefined
  return [
    ...(weakness ? [fault('password', weakness)] : []),
    ...(own && current_password === undefined ? [fault('current_password', 'is required to change your own password')] : []),
  ]
}

/** Throws the 422 listing `faults`, if any; `beforeStatements`: judged from the request alone (see `madeFromRequest`). */
const refuseFaults = (faults: FieldError[], beforeStatements = false) => {
  if (faults.length === 0) return
  const problem = problems.invalidRequest(faults)
  throw beforeStatements ? madeFromRequest(problem) : problem
}

export const createAccountRules = ({ sql, hasher, logins, auth, timeoutMs }: { sql: Sql; hasher: Hasher; logins: Logins; auth: boolean; timeoutMs: number }) => {
  const callerOk = callerCheck(sql)
  // User `id` as the caller may see it: the caller is checked too (a stale token is a 401, not a
  // verdict on the password); no email: no such user.
  const targetOf = async (id: number, caller: Caller | undefined) =>
    (
      await withDeadline(() => sql<{ caller_ok: boolean; email: string | null; name: string; version: number }[]>`
        select ${callerOk(caller)} as caller_ok,
          u.email, u.name, u.version
        from (select 1) one left join users u on u.id = ${id}`, timeoutMs)
    )[0]

  return {
    /** A new user from a create body; without a caller under access control, it is a sign-up. */
    async forCreate({ password, ...fields }: CreateUserInput, caller: Caller | undefined): Promise<NewUser> {
      const signup = auth && !caller
      // Faults of the request (422) before a field the caller may not set (403).
      refuseFaults(await accountFaults({ password }, { signup, owner: () => fields }), true)
      if (signup && fields.role !== undefined) throw problems.forbidden('role')
      return { ...fields, ...(password === undefined ? {} : { passwordHash: await hasher.hash(password) }) }
    },

    /**
     * The changes of an update body to user `id`, by `caller` from address `client`, under
     * `condition`: a refused precondition is reported before a wrong `current_password`.
     */
    async forUpdate(id: number, { password, current_password, ...fields }: UpdateUserInput, caller: Caller | undefined, client: string, condition: WriteCondition): Promise<UserChanges> {
      // Checked after the faults of the request (422), before the missing user (404).
      const roleRefused = auth && fields.role !== undefined && caller?.role !== 'admin'
      if (password === undefined) {
        refuseFaults(await accountFaults({ current_password }, { owner: () => fields }), true)
        if (roleRefused) throw madeFromRequest(problems.forbidden('role'))
        return fields
      }
      const target = await targetOf(id, caller)
      if (!target?.caller_ok) throw problems.unauthorized('invalid')
      // Faults of the request (422), all of them, before the missing user (404) and the preconditions.
      const owner = target.email === null ? fields : { email: fields.email ?? target.email, name: fields.name ?? target.name }
      const own = auth && caller?.id === id
      refuseFaults(await accountFaults({ password, current_password }, { own, owner: () => owner }))
      if (roleRefused) throw problems.forbidden('role')
      if (target.email === null) throw problems.userNotFound()
      const refused = preconditionRefusal(condition, target.version)
      if (refused) throw refused
      const passwordHash = await hasher.hash(password)
      // Counted like a login, and throttled like one: a stolen token cannot guess without limit.
      if (own && !(await logins.checkPassword(target.email, client, current_password!))) {
        throw problems.invalidRequest([WRONG_CURRENT_PASSWORD])
      }
      return { ...fields, passwordHash }
    },

    /**
     * The faults of the account fields of a body its schema refused too (those rules run once the
     * schema holds), so that one 422 lists every violation. `change`: the user a change is to
     * (`id` undefined when the path names none), or undefined for a create. The schema speaks for
     * the fields it `described` (none of them is listed here) and for a body that is no object; a
     * field sent counts as sent whatever its type.
     */
    async faultsBeside(sent: unknown, change: { id?: number } | undefined, caller: Caller | undefined, described: ReadonlySet<string>): Promise<FieldError[]> {
      if (typeof sent !== 'object' || sent === null || Array.isArray(sent)) return []
      const body = sent as Record<string, unknown>
      const text = (field: string) => (typeof body[field] === 'string' ? (body[field] as string) : undefined)
      const given = (field: string) => (body[field] === undefined ? undefined : (text(field) ?? ''))
      const password = given('password')
      const strength = text('password') !== undefined && !described.has('password')
      // As the schema would have them: trimmed.
      const [email, name] = [text('email'), text('name')].map((value) => (value === undefined ? undefined : trimWhiteSpace(value)))
      const undescribed = (faults: FieldError[]) => faults.filter(({ field }) => !described.has(field))
      if (!change) return undescribed(await accountFaults({ password }, { signup: auth && !caller, strength, owner: () => ({ email, name }) }))
      const { id } = change
      // The stored email and name count where the body leaves them out, as for a valid body; when
      // the user cannot be read (or the caller's token is stale), the body's alone.
      const owner = async (): Promise<Owner> => {
        if (id === undefined || (email !== undefined && name !== undefined)) return { email, name }
        const target = await targetOf(id, caller).catch(() => undefined)
        const stored = target?.caller_ok && target.email !== null ? { email: target.email, name: target.name } : {}
        return { email: email ?? stored.email, name: name ?? stored.name }
      }
      return undescribed(await accountFaults({ password, current_password: given('current_password') }, { own: auth && id !== undefined && caller?.id === id, strength, owner }))
    },
  }
}

export type AccountRules = ReturnType<typeof createAccountRules>
