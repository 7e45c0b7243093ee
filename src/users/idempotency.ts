/**
 * `POST /users` with `Idempotency-Key`: the first request with a key runs and its answer is kept
 * for 24 hours; a retry with the same body gets that answer again and creates nothing. The key's
 * row and the user are written in one transaction, under a lock on the key, so a retry that comes
 * while the first still runs gets a 409 (on a server; the embedded database's one connection runs
 * them one after the other, and the retry is a replay).
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

const problemAnswer = (problem: Problem): KeptAnswer => ({ status: problem.status, body: JSON.stringify(problem), location: null, etag: null })

interface KeptRow extends KeptAnswer {
  fingerprint: string
  password_hash: string | null
}

export const createIdempotentCreate = (sql: Sql, { timeoutMs, hasher, state }: { timeoutMs: number; hasher: Hasher; state: ServiceState }) => {
  const callerOk = callerCheck(sql)
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
   * The answer kept under `key` for `caller`, replayed (another body: 422); undefined when none is
   * kept. Looked up before any work, so a retry costs no hash but the password's check. A dead
   * token replays nothing (401).
   */
  const replay = async (key: IdempotencyKey, caller: Caller | undefined): Promise<Outcome | undefined> => {
    const [found] = await withDeadline(
      () => sql<(KeptRow & { caller_ok: boolean })[]>`
        select ${callerOk(caller)} as caller_ok, k.fingerprint, k.password_hash, k.status, k.body, k.location, k.etag
        from (select 1) one left join idempotency_keys k
          on k.owner = ${caller?.id ?? 0} and k.key = ${key.key} and k.created_at > now() - interval '24 hours'`,
      timeoutMs,
    )
    if (!found!.caller_ok) throw problems.unauthorized('invalid')
    return found!.fingerprint === null ? undefined : replayOf(key, found!)
  }

  /**
   * Runs `answer` once per key of `caller`'s, in a transaction holding the key's lock: a kept
   * answer (one that came meanwhile) is replayed, else `answer` runs and what it answers is kept,
   * with `passwordHash`, the argon2id hash of the password's exact form.
   */
  const once = async (caller: Caller | undefined, key: IdempotencyKey, passwordHash: string | undefined, answer: (tx: TransactionSql) => Promise<KeptAnswer>) => {
    const owner = caller?.id ?? 0
    const run = beginWithin(sql, timeoutMs, async (tx): Promise<{ fresh: KeptAnswer } | { kept: KeptRow }> => {
      const [lock] = await tx<{ locked: boolean; caller_ok: boolean }[]>`
        select pg_try_advisory_xact_lock(hashtextextended(${`${owner}:${key.key}`}, 0)) as locked, ${callerOk(caller)} as caller_ok`
      if (!lock!.caller_ok) throw problems.unauthorized('invalid')
      if (!lock!.locked) throw problems.idempotencyInProgress()
      const [kept] = await tx<KeptRow[]>`
        select fingerprint, password_hash, status, body, location, etag from idempotency_keys
        where owner = ${owner} and key = ${key.key} and created_at > now() - interval '24 hours'`
      if (kept) return { kept }
      const fresh = await answer(tx)
      await tx`
        insert into idempotency_keys (owner, key, fingerprint, password_hash, status, body, location, etag)
        values (${owner}, ${key.key}, ${key.fingerprint}, ${passwordHash ?? null}, ${fresh.status}, ${fresh.body}, ${fresh.location}, ${fresh.etag})
        on conflict (owner, key) do update set fingerprint = excluded.fingerprint, password_hash = excluded.password_hash,
          status = excluded.status, body = excluded.body, location = excluded.location, etag = excluded.etag, created_at = now()`
      return { fresh }
    })
    sweep()
    const done = await run
    // Checked after the transaction: a hash takes tens of milliseconds, which no connection should wait for.
    return 'kept' in done ? replayOf(key, done.kept) : { answer: done.fresh, replayed: false }
  }

  /** The hash to keep for the key's password: the new user's own when the password was sent in its exact form. */
  const keptHash = async ({ password }: IdempotencyKey, userHash?: string) =>
    password && (password.asSent && userHash ? userHash : await hasher.hash(password.exact))

  return {
    replay,

    /** Creates the user once per key (`replay` first); a 409 (email taken) is an answer too, and kept. */
    create: async (key: IdempotencyKey, input: NewUser, caller?: Caller) =>
      once(caller, key, await keptHash(key, input.passwordHash), async (tx) => {
        try {
          const { user, version } = await tx.savepoint((inner) => createUserService(inner as unknown as Sql, { timeoutMs }).create(input, caller))
          return { status: 201, body: JSON.stringify(user), location: `/users/${user.id}`, etag: entityTag(user.id, version) }
        } catch (error) {
          if (error instanceof Problem && error.status === 409) return problemAnswer(error)
          throw error
        }
      }),

    /**
     * A create refused for its body (400 or 422): that answer is kept under the key, or the one
     * kept is replayed; anything else (401, 403, 429, ...) is not kept. `lookedUp`: the caller has
     * already found no kept answer with `replay` (one that came since is still found).
     */
    refuse: async (key: IdempotencyKey, problem: Problem, caller?: Caller, lookedUp = false): Promise<Problem> => {
      if (problem.status !== 400 && problem.status !== 422) return problem
      // Refused by the schema, the request reaches no route's check: the table may not be there yet.
      if (!state.migrated) throw problems.notMigrated()
      const { answer, replayed } =
        (lookedUp ? undefined : await replay(key, caller)) ?? (await once(caller, key, await keptHash(key), async () => problemAnswer(problem)))
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
