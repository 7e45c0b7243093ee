/**
 * The table behind `Idempotency-Key` (`idempotency_keys`): the answers kept for 24 hours and the
 * claims of requests still running. A claim is the key's row holding the request's token
 * (`claim_token`); until the answer replaces it, the row reads as a kept 409 "still in progress",
 * so that a process of the previous version (during a rolling upgrade) answers a retry with a 4xx
 * rather than a 500: that 409 for the same body without a password, else a 422.
 */
import type { Sql, TransactionSql } from 'postgres'
import type { Hasher } from '../auth/passwords'
import { callerCheck, type Caller } from '../auth/tokens'
import { withDeadline } from '../db/deadline'
import { sweeper } from '../db/sweeper'
import type { IdempotencyKey } from '../http/idempotency-key'
import type { Problem } from '../http/problem'
import { problems } from '../http/problems'

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

export const problemAnswer = (problem: Problem): KeptAnswer => ({ status: problem.status, body: JSON.stringify(problem), location: null, etag: null })

// What a claimed key's row says until its answer replaces it.
const IN_PROGRESS = problemAnswer(problems.idempotencyInProgress())

interface KeptRow extends KeptAnswer {
  fingerprint: string
  password_hash: string | null
}

// The row is this request's claim, as it wrote it (a process of the previous version, which knows
// no claims, may have written an answer over it: that answer stays).
const stillClaimed = (sql: Sql | TransactionSql, token: string) =>
  sql`claim_token = ${token} and status = ${IN_PROGRESS.status} and body = ${IN_PROGRESS.body}`

// How long a failed release waits before it tries again.
const RELEASE_RETRY_MS = 1000

export const createIdempotencyKeys = (sql: Sql, { timeoutMs, hasher }: { timeoutMs: number; hasher: Hasher }) => {
  const callerOk = callerCheck(sql)
  // A claim this old belongs to a request that can no longer finish (its process died, say): the
  // next request with the key takes it over. Longer than any request runs (each statement has
  // `timeoutMs`, a password waits in a bounded queue).
  const abandonedAfterMs = Math.max(60_000, 4 * timeoutMs)
  const abandonedBefore = sql`now() - ${abandonedAfterMs} * interval '1 millisecond'`
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
          k.claim_token is not null as claimed, k.created_at < ${abandonedBefore} as abandoned
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
    const attempt = () => withDeadline(() => sql`delete from idempotency_keys where owner = ${owner} and key = ${key.key} and ${stillClaimed(sql, token)}`, timeoutMs)
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
          or (idempotency_keys.claim_token is not null and idempotency_keys.created_at < ${abandonedBefore})
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
      where owner = ${owner} and key = ${key.key} and ${stillClaimed(tx, token)}
      returning 1`
    if (kept.length === 0) throw problems.idempotencyInProgress()
    return { answer, replayed: false }
  }

  return { replay, claim, release, keep }
}
