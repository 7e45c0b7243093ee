/**
 * The account rules (a missing or weak password, `current_password`) run once a body fits its
 * schema; a body that does not gets their faults listed with the schema's, so that one 422 names
 * every violation and a client does not learn of a weak password only after fixing the rest.
 */
import type { AccountRules } from '../auth/accounts'
import { callerOf } from '../auth/guard'
import type { BodyRejection, RefusedRequest } from '../http/errors'
import { MAX_FIELD_ERRORS, type Problem } from '../http/problem'
import { problems } from '../http/problems'
import { userIdIn } from './schemas'

const withFaults = async (accounts: AccountRules, request: Request, problem: Problem, { route, path, body }: RefusedRequest) => {
  const create = request.method === 'POST' && route === '/users'
  const change = request.method === 'PATCH' && (route === '/users/:id' || route === '/users/me')
  if (!(create || change)) return problem
  const caller = callerOf(request)
  const id = route === '/users/me' ? caller?.id : userIdIn(path.split('/')[2] ?? '')
  const described = new Set(problem.errors?.map(({ field }) => field))
  const faults = await accounts.faultsBeside(body, change ? { id } : undefined, caller, described)
  if (faults.length === 0) return problem
  // A 400 lists business rules alone; with any other violation the answer is a 422 listing those.
  const errors = problem.status === 422 ? [...(problem.errors ?? []), ...faults] : faults
  return problems.invalidRequest(errors.slice(0, MAX_FIELD_ERRORS))
}

/**
 * `POST /users` and `PATCH /users/{id}`, `/users/me`: a refused body's account faults, added to its
 * problem, which then goes to `next` (e.g. to be kept for an `Idempotency-Key`).
 */
export const withAccountFaults =
  (accounts: AccountRules, next: BodyRejection): BodyRejection =>
  async (request, problem, refused) =>
    next(request, await withFaults(accounts, request, problem, refused), refused)
