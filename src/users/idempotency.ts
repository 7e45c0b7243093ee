/**
 * `POST /users` with `Idempotency-Key`: the first request with a key runs and its answer is kept
 * for 24 hours; a retry with the same body gets that answer again and creates nothing. The first
 * request claims the key before any work: its row holds the request's token (`claim_token`) and
 * reads as a kept 409 "still in progress" until the answer replaces it, so a retry that comes while
 * it still runs, hashing its password included, gets a 409, on any database and from any process.
 * The user and the answer replacing the claim are written in one transaction.
 */
import type { Sql, TransactionSql } from 'postgres'
import { callerOf } from '../auth/guard'
import type { Hasher } from '../auth/passwords'
import { callerCheck, type Caller } from '../auth/tokens'
import { beginWithin, withDeadline } from '../db/deadline'
import { sweeper } from '../db/sweeper'
import { entityTag } from '../http/conditional'
import type { ServiceState } from '../http/health'
import type { BodyRejection } from '../http/errors'
import { idempotencyKeyOf, type IdempotencyKey } from '../http/idempotency-key'
import { Problem, type ProblemStatus } from '../http/problem'
import { problems } from '../http/problems'
import { createUserService, type NewUser } from './service'

/** An answer as kept: replayed exactly (status, body, `Location`, `ETag`). */
export interface KeptAnswer {
  status: number
  body: string
  location: string | null
  etag: string | null
}

export interface Outcome {
  answer: KeptAnswer
  replayed: boolean
}

/** A key this request holds: its row carries `token` until the answer replaces it. */
export interface Claim {
  owner: number
  key: IdempotencyKey
  token: string
}

const problemAnswer = (problem: Problem): KeptAnswer => ({ status: problem.status, body: JSON.stringify(problem), location: null, etag: null })

// What a claimed key's row says until its answer replaces it: a process that does not know claims
// (an earlier version, during a rolling upgrade) replays it as it is.
const IN_PROGRESS = problemAnswer(problems.idempotencyInProgress())

interface KeptRow extends KeptAnswer {
  fingerprint: string
  password_hash: string | null
}

// How long a failed release waits before it tries again.
const RELEASE_RETRY_MS = 1000

const isKeptForBody = (problem: unknown): problem is Problem => problem instanceof Problem && (problem.status === 400 || problem.status === 422)

export const createIdempotentCreate = (sql: Sql, { timeoutMs, hasher, state }: { timeoutMs: number; hasher: Hasher; state: ServiceState }) => {
  const callerOk = callerCheck(sql)
  // A claim this old belongs to a request that can no longer finish (its process died, say): the
  // next request with the key takes it over. Longer than any request runs (each statement has
  // `timeoutMs`, a password waits in a bounded queue).
  const abandonedAfterMs = Math.max(60_000, 4 * timeoutMs)
  // Expired keys are already ignored; deleting them, a batch at a time, keeps the table small.
  const sweep = sweeper(() => sql`delete from idempotency_keys where ctid = any(array(
    select ctid from idempotency_keys where created_at < now() - interval '24 hours' limit 1000))`)

  /** The kept answer, replayed, if the request is the same body: else 422 (the password is checked against its hash). */
  const replayOf = async ({ fingerprint, password }: IdempotencyKey, kept: KeptRow): Promise<Outcome> => {
    if (kept.fingerprint !== fingerprint) throw problems.idempotencyKeyReused()
    if (password && !(await hasher.verify(password.exact, kept.password_hash))) throw problems.idempotencyKeyReused()
    return { answer: { status: kept.status, body: kept.body, location: kept.location, etag: kept.etag }, replayed: true }
  }

  /**
   * The answer kept under `key` for `caller`, replayed (another body: 422); 409 while a claim on it
   * is in progress; undefined when nothing is kept. A dead token replays nothing (401).
   */
  const replay = async (key: IdempotencyKey, caller: Caller | undefined): Promise<Outcome | undefined> => {
    const [found] = await withDeadline(
      () => sql<(KeptRow & { caller_ok: boolean; claimed: boolean; abandoned: boolean })[]>`
        select ${callerOk(caller)} as caller_ok, k.fingerprint, k.password_hash, k.status, k.body, k.location, k.etag,
          k.claim_token is not null as claimed, k.created_at < now() - ${abandonedAfterMs} * interval '1 millisecond' as abandoned
        from (select 1) one left join idempotency_keys k
          on k.owner = ${caller?.id ?? 0} and k.key = ${key.key} and k.created_at > now() - interval '24 hours'`,
      timeoutMs,
    )
    if (!found!.caller_ok) throw problems.unauthorized('invalid')
    if (found!.fingerprint === null) return undefined
    if (found!.claimed) {
      if (found!.abandoned) return undefined
      throw problems.idempotencyInProgress()
    }
    return replayOf(key, found!)
  }

  /**
   * Gives a claim back (its request failed with an answer that is not kept), so that a retry runs
   * again: once while the request waits, then, if the database did not answer (the likely cause
   * of the failure), in the background until it does or the claim counts as abandoned anyway.
   */
  const release = async ({ owner, key, token }: Claim) => {
    const giveUpAt = Date.now() + abandonedAfterMs
    const attempt = () => withDeadline(() => sql`delete from idempotency_keys where owner = ${owner} and key = ${key.key} and claim_token = ${token}`, timeoutMs)
    const retryLater = () => {
      if (Date.now() + RELEASE_RETRY_MS >= giveUpAt) return
      setTimeout(() => void attempt().catch(retryLater), RELEASE_RETRY_MS).unref()
    }
    await attempt().catch(retryLater)
  }

  /** Claims `key` for this request; undefined if another request claimed or answered it first. */
  const claim = async (key: IdempotencyKey, caller: Caller | undefined): Promise<Claim | undefined> => {
    const claimed: Claim = { owner: caller?.id ?? 0, key, token: crypto.randomUUID() }
    const rows = await withDeadline(
      () => sql`
        insert into idempotency_keys (owner, key, fingerprint, status, body, claim_token)
        values (${claimed.owner}, ${key.key}, ${key.fingerprint}, ${IN_PROGRESS.status}, ${IN_PROGRESS.body}, ${claimed.token})
        on conflict (owner, key) do update set fingerprint = excluded.fingerprint, password_hash = null, status = excluded.status,
          body = excluded.body, location = null, etag = null, claim_token = excluded.claim_token, created_at = now()
        where idempotency_keys.created_at <= now() - interval '24 hours'
          or (idempotency_keys.claim_token is not null and idempotency_keys.created_at < now() - ${abandonedAfterMs} * interval '1 millisecond')
        returning 1`,
      timeoutMs,
    ).catch(async (error: unknown) => {
      // Given up on, the statement may still have claimed the key.
      await release(claimed)
      throw error
    })
    sweep()
    return rows.length > 0 ? claimed : undefined
  }

  /** Replaces the claim with `answer` (in `tx`, beside the user it created); 409 if the claim was taken over. */
  const keep = async (tx: TransactionSql, { owner, key, token }: Claim, answer: KeptAnswer, passwordHash: string | undefined) => {
    const kept = await tx`
      update idempotency_keys set password_hash = ${passwordHash ?? null}, status = ${answer.status}, body = ${answer.body},
        location = ${answer.location}, etag = ${answer.etag}, claim_token = null, created_at = now()
      where owner = ${owner} and key = ${key.key} and claim_token = ${token}
      returning 1`
    if (kept.length === 0) throw problems.idempotencyInProgress()
    return { answer, replayed: false }
  }

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

  /** A 400/422 about the body, kept under the claim. */
  const keepRefusal = (claim: Claim, problem: Problem) =>
    holding(claim, async () => {
      const passwordHash = await keptHash(claim.key)
      return beginWithin(sql, timeoutMs, (tx) => keep(tx, claim, problemAnswer(problem), passwordHash))
    })

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
            const { user, version } = await tx.savepoint((inner) => createUserService(inner as unknown as Sql, { timeoutMs }).create(input, caller))
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
      const { answer, replayed } = 'answer' in started ? started : await keepRefusal(started, problem)
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
