/**
 * The token before the request. A token's version is checked by the statement that does the work;
 * a request refused before any statement runs (its body's media type, size, syntax or shape, the
 * password rules, a field its role may not set) would otherwise get that answer with a token that
 * is no longer valid. The token comes first (401 → … → 400/413/415/422/403): such a refusal checks
 * it on its own, on the error path alone.
 */
import type { Sql } from 'postgres'
import { withDeadline } from '../db/deadline'
import type { ServiceState } from '../http/health'
import { isMadeFromRequest, type Problem } from '../http/problem'
import { problems } from '../http/problems'
import { callerOf } from './guard'
import { callerCheck } from './tokens'

/**
 * Refusals made from the request alone: every 400 (unreadable body, an age out of range), 413 and
 * 415, and the 422s and 403s marked so where they are made (a 422 or 403 can also come from a
 * statement, which checked the caller already). The guard's 403 is made from the token alone.
 */
const madeBeforeStatements = (problem: Problem) => [400, 413, 415].includes(problem.status) || isMadeFromRequest(problem)

/**
 * `tokenFirst({ sql, state, timeoutMs })(request, problem)`: `problem`, or 401 when the token the
 * guard let through is no longer valid (its user deleted, their password or role changed). Needs
 * the database: it throws while the database cannot answer (503).
 */
export const tokenFirst = ({ sql, state, timeoutMs }: { sql: Sql; state: ServiceState; timeoutMs: number }) => {
  const callerOk = callerCheck(sql)
  return async (request: Request, problem: Problem): Promise<Problem> => {
    const caller = callerOf(request)
    if (!caller || !madeBeforeStatements(problem)) return problem
    if (!state.migrated) throw problems.notMigrated()
    const [row] = await withDeadline(() => sql<{ ok: boolean }[]>`select ${callerOk(caller)} as ok`, timeoutMs)
    return row!.ok ? problem : problems.unauthorized('invalid')
  }
}
