/**
 * The rules on the fields only some callers may write, applied after the request is validated
 * (the guard has already decided who may make the call): a new password must be strong (422) and
 * is hashed here, so the service never sees it; changing one's own password needs
 * `current_password` (422; checked like a login: a wrong one counts as a failed login, and a
 * throttled pair gets 429); only an admin sets `role` (403, after those 422s: the request's faults
 * come first).
 */
import type { Sql } from 'postgres'
import { withDeadline } from '../db/deadline'
import { problems } from '../http/problems'
import type { CreateUserInput, UpdateUserInput } from '../users/schemas'
import { preconditionRefusal, type WriteCondition } from '../users/preconditions'
import type { NewUser, UserChanges } from '../users/service'
import type { Logins } from './logins'
import { passwordWeakness, type Hasher } from './passwords'
import { callerCheck, type Caller } from './tokens'

const invalid = (field: string, message: string) => problems.invalidRequest([{ field, message }])

export const createAccountRules = ({ sql, hasher, logins, auth, timeoutMs }: { sql: Sql; hasher: Hasher; logins: Logins; auth: boolean; timeoutMs: number }) => {
  const callerOk = callerCheck(sql)
  const refuseWeak = async (password: string, owner: { email?: string; name?: string }) => {
    const weakness = await passwordWeakness(password, owner)
    if (weakness) throw invalid('password', weakness)
  }

  return {
    /** A new user from a create body; without a caller under access control, it is a sign-up. */
    async forCreate({ password, ...fields }: CreateUserInput, caller: Caller | undefined): Promise<NewUser> {
      const signup = auth && !caller
      // Faults of the request (422) before a field the caller may not set (403).
      if (signup && password === undefined) throw invalid('password', 'is required to sign up')
      if (password !== undefined) await refuseWeak(password, fields)
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
        // Alone it would change nothing, yet move the version (and every client's If-Match).
        if (current_password !== undefined) throw invalid('current_password', 'is only accepted with password')
        if (roleRefused) throw problems.forbidden('role')
        return fields
      }
      // The caller is checked here too (a stale token is a 401, not a verdict on the password).
      const [target] = await withDeadline(() => sql<{ caller_ok: boolean; email: string | null; name: string; version: number }[]>`
        select ${callerOk(caller)} as caller_ok,
          u.email, u.name, u.version
        from (select 1) one left join users u on u.id = ${id}`, timeoutMs)
      if (!target?.caller_ok) throw problems.unauthorized('invalid')
      // Faults of the request (422), all of them, before the missing user (404) and the preconditions.
      const owner = target.email === null ? fields : { email: fields.email ?? target.email, name: fields.name ?? target.name }
      const weakness = await passwordWeakness(password, owner)
      const own = auth && caller?.id === id
      const faults = [
        ...(weakness ? [{ field: 'password', message: weakness }] : []),
        ...(own && current_password === undefined ? [{ field: 'current_password', message: 'is required to change your own password' }] : []),
      ]
      if (faults.length > 0) throw problems.invalidRequest(faults)
      if (roleRefused) throw problems.forbidden('role')
      if (target.email === null) throw problems.userNotFound()
      const refused = preconditionRefusal(condition, target.version)
      if (refused) throw refused
      const passwordHash = await hasher.hash(password)
      // Counted like a login, and throttled like one: a stolen token cannot guess without limit.
      if (own && !(await logins.checkPassword(target.email, client, current_password!))) {
        throw invalid('current_password', 'is not your current password')
      }
      return { ...fields, passwordHash }
    },
  }
}

export type AccountRules = ReturnType<typeof createAccountRules>
