/**
 * `POST /users` with `Idempotency-Key`: the first request with a key runs and its answer is kept
 * for 24 hours; a retry with the same body gets that answer again and creates nothing. The first
 * request claims the key before any work (see ./idempotency-keys), so a retry that comes while it
 * still runs, hashing its password included, gets a 409, on any database and from any process.
 * The user and the answer replacing the claim are written in one transaction.
 */
import type { Sql } from 'postgres'
import { callerOf } from '../auth/guard'
import type { Hasher } from '../auth/passwords'
import type { Caller } from '../auth/tokens'
import { beginWithin } from '../db/deadline'
import { entityTag } from '../http/conditional'
import type { ServiceState } from '../http/health'
import type { BodyRejection } from '../http/errors'
import { idempotencyKeyOf, type IdempotencyKey } from '../http/idempotency-key'
import { Problem, type ProblemStatus } from '../http/problem'
import { problems } from '../http/problems'
import { createIdempotencyKeys, problemAnswer, type Claim, type KeptAnswer, type Outcome } from './idempotency-keys'
import { createUserService, type NewUser } from './service'

const isKeptForBody = (problem: unknown): problem is Problem => problem instanceof Problem && (problem.status === 400 || problem.status === 422)

export const createIdempotentCreate = (sql: Sql, { timeoutMs, hasher, state }: { timeoutMs: number; hasher: Hasher; state: ServiceState }) => {
  const { replay, claim, release, keep } = createIdempotencyKeys(sql, { timeoutMs, hasher })

  /** The hash to keep for the key's password: the new user's own when the password was sent in its exact form. */
  const keptHash = async ({ password }: IdempotencyKey, userHash?: string) =>
    password && (password.asSent && userHash ? userHash : await hasher.hash(password.exact))

  /** Runs `work` under `claim`; any failure gives the claim back. */
  const holding = async <T>(claim: Claim, work: () => Promise<T>): Promise<T> => {
    try {
      return await work()
    } catch (error) {
      await release(claim)
      throw error
    }
  }

  /** A 400/422 about the body, kept under the claim (by a caller that holds it: see `holding`). */
  const keepRefusal = async (claim: Claim, problem: Problem) => {
    const passwordHash = await keptHash(claim.key)
    return beginWithin(sql, timeoutMs, (tx) => keep(tx, claim, problemAnswer(problem), passwordHash))
  }

  return {
    /** The answer kept under `key` (replayed), or a claim on it for this request; 409 while another holds it. */
    async start(key: IdempotencyKey, caller: Caller | undefined): Promise<Outcome | Claim> {
      // Twice at most: a claim lost to another request finds its answer, or its claim (409).
      for (let attempt = 0; attempt < 2; attempt++) {
        const kept = await replay(key, caller)
        if (kept) return kept
        const claimed = await claim(key, caller)
        if (claimed) return claimed
      }
      throw problems.idempotencyInProgress()
    },

    /**
     * Creates the user once under `claim`, from what `prepare` makes of the body (the password's
     * rules and hash): a 400/422 from it is kept as the answer, as is a 409 (email taken); any other
     * failure gives the claim back.
     */
    create: (claim: Claim, prepare: () => Promise<NewUser>, caller?: Caller): Promise<Outcome> =>
      holding(claim, async () => {
        let input: NewUser
        try {
          input = await prepare()
        } catch (error) {
          if (isKeptForBody(error)) return keepRefusal(claim, error)
          throw error
        }
        const passwordHash = await keptHash(claim.key, input.passwordHash)
        return beginWithin(sql, timeoutMs, async (tx) => {
          let answer: KeptAnswer
          try {
            const { user, version } = await tx.savepoint((inner) => createUserService(inner as unknown as Sql, { timeoutMs, inTransaction: true }).create(input, caller))
            answer = { status: 201, body: JSON.stringify(user), location: `/users/${user.id}`, etag: entityTag(user.id, version) }
          } catch (error) {
            if (!(error instanceof Problem && error.status === 409)) throw error
            answer = problemAnswer(error)
          }
          return keep(tx, claim, answer, passwordHash)
        })
      }),

    /**
     * A create refused for its body by the schema (400 or 422): that answer is kept under the key,
     * or the one kept is replayed; anything else (401, 403, 429, ...) is not kept.
     */
    async refuse(key: IdempotencyKey, problem: Problem, caller?: Caller): Promise<Problem> {
      if (!isKeptForBody(problem)) return problem
      // Refused by the schema, the request reaches no route's check: the table may not be there yet.
      if (!state.migrated) throw problems.notMigrated()
      const started = await this.start(key, caller)
      const { answer, replayed } = 'answer' in started ? started : await holding(started, () => keepRefusal(started, problem))
      // A body refused now cannot be one that was accepted.
      if (answer.status !== 400 && answer.status !== 422) throw problems.idempotencyKeyReused()
      return keptProblem(answer, replayed)
    },
  }
}

export type IdempotentCreate = ReturnType<typeof createIdempotentCreate>

/** A kept answer that was a problem, to throw again: the same status and body, marked when replayed. */
export const keptProblem = ({ status, body }: KeptAnswer, replayed: boolean): Problem => {
  const { type: _type, title: _title, status: _status, detail, errors, ...extensions } = JSON.parse(body) as ReturnType<Problem['toJSON']>
  return new Problem(status as ProblemStatus, detail, errors, replayed ? { 'idempotent-replayed': 'true' } : {}, extensions)
}

/** For `problemResponses`: a create refused by its schema keeps that answer under its key, or replays the one kept. */
export const keepBodyRejections =
  (idempotent: IdempotentCreate): BodyRejection =>
  async (request, problem) => {
    const key = idempotencyKeyOf(request)
    return key ? idempotent.refuse(key, problem, callerOf(request)) : problem
  }
