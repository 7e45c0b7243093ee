/**
 * Logging in: the password check, throttled per (email, client) and per email in the database,
 * and the refresh tokens. Unknown emails are counted like known ones, and checked against a dummy
 * hash, so neither a 401 nor a 429 tells whether an account exists.
 */
import type { PendingQuery, Sql } from 'postgres'
import { beginWithin, withDeadline } from '../db/deadline'
import { problems } from '../http/problems'
import type { Hasher } from './passwords'
import { loginSweeper } from './retention'
import { newRefreshToken, refreshTokenHash, type Caller, type Role, type Tokens } from './tokens'

/** Failures per (email, client) within `PAIR_WINDOW` that throttle that pair. */
const PAIR_LIMIT = 5
const PAIR_WINDOW = '15 minutes'
/** Failures per email, from all clients, within `EMAIL_WINDOW` that throttle that email. */
const EMAIL_LIMIT = 100
const EMAIL_WINDOW = '24 hours'
// The advisory lock under which attempts on one email take turns at counting: the email's text, hashed with this seed.
const LOCK_SEED = 7

export interface TokenPair {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  refresh_token: string
}

interface Account {
  id: string | null
  role: Role | null
  token_version: number | null
  password_hash: string | null
}

/** A password check counted as a failure until it is settled: `passed` clears it, `withdrawn` uncounts it. */
interface Attempt {
  /** The user of the email, if there is one. */
  account: Account | undefined
  passed(): Promise<void>
  withdrawn(): Promise<void>
}

export const createLogins = (
  sql: Sql,
  { hasher, tokens, accessTokenTtl, refreshTokenTtl, timeoutMs }: { hasher: Hasher; tokens: Tokens; accessTokenTtl: number; refreshTokenTtl: number; timeoutMs: number },
) => {
  const withinDeadline = <Q extends PendingQuery<any>>(query: () => Q) => withDeadline(query, timeoutMs)
  const sweep = loginSweeper(sql, { failureWindow: EMAIL_WINDOW })

  /** The pair handed out: `refresh` (already stored) and a new access token for `caller`. */
  const pairOf = async (caller: Caller, refresh: string): Promise<TokenPair> =>
    ({ access_token: await tokens.sign(caller), token_type: 'Bearer', expires_in: accessTokenTtl, refresh_token: refresh })

  /**
   * A new access token and a new refresh token in a new family: a new login, for the account as its
   * password was checked. Stored only while the user is still at that version, with their row
   * share-locked: a password change or a deletion under way (which locks it) is waited for, and one
   * that came first leaves nothing to store. Either way the login is refused (401), and no refresh
   * token outlives the change it raced (see the users service's update).
   */
  const issue = async (caller: Caller): Promise<TokenPair> => {
    const refresh = newRefreshToken()
    const stored = await withinDeadline(() => sql`
      insert into refresh_tokens (token_hash, family, user_id, expires_at)
      select ${refreshTokenHash(refresh)}, ${crypto.randomUUID()}, id, clock_timestamp() + make_interval(secs => ${refreshTokenTtl})
      from users where id = ${caller.id} and token_version = ${caller.ver} for share
      returning 1`)
    if (stored.length === 0) throw problems.unauthorized('credentials')
    return pairOf(caller, refresh)
  }

  /**
   * Reserves a password check of `email` from `client`: a 429 when that pair or that email is
   * throttled; otherwise the check is counted as a failure at once, under a lock on the email, so
   * that guesses sent together cannot all get under the limit. The caller settles it: `passed`
   * (the pair starts afresh) or `withdrawn` (never decided, e.g. the hash queue was full: an
   * attempt answered 429 does not count). Unsettled, it stays a failure.
   */
  const reserve = async (email: string, client: string): Promise<Attempt> => {
    sweep()
    const [found] = await beginWithin(sql, timeoutMs, async (tx) => {
      await tx`select pg_advisory_xact_lock(hashtextextended(lower(${email}), ${LOCK_SEED}))`
      // The waits are the seconds until the failure that makes the count reach its limit leaves the window.
      return tx<(Account & { pair_wait: number | null; email_wait: number | null; failed_at: string | null })[]>`
        with waits as (
          select
            (select ceil(extract(epoch from failed_at + ${PAIR_WINDOW}::interval - clock_timestamp()))::int
               from login_failures where email = lower(${email}) and client = ${client}
               and failed_at > clock_timestamp() - ${PAIR_WINDOW}::interval
               order by failed_at desc offset ${PAIR_LIMIT - 1} limit 1) as pair_wait,
            (select ceil(extract(epoch from failed_at + ${EMAIL_WINDOW}::interval - clock_timestamp()))::int
               from login_failures where email = lower(${email})
               and failed_at > clock_timestamp() - ${EMAIL_WINDOW}::interval
               order by failed_at desc offset ${EMAIL_LIMIT - 1} limit 1) as email_wait),
        counted as (
          insert into login_failures (email, client)
          select lower(${email}), ${client} from waits where coalesce(pair_wait, 0) <= 0 and coalesce(email_wait, 0) <= 0
          returning failed_at::text as failed_at)
        select waits.pair_wait, waits.email_wait, (select failed_at from counted) as failed_at,
          u.id, u.role, u.token_version, u.password_hash
        from waits left join users u on lower(u.email) = lower(${email})`
    })
    const wait = Math.max(found?.pair_wait ?? 0, found?.email_wait ?? 0)
    if (wait > 0 || !found?.failed_at) throw problems.loginThrottled(Math.max(wait, 1))
    const { failed_at: failedAt, pair_wait: _pair, email_wait: _email, ...account } = found
    // The attempt's own timestamp, to the microsecond: sent as text (as a timestamptz parameter
    // the driver would round it to milliseconds).
    const pair = sql`email = lower(${email}) and client = ${client}`
    const at = sql`${failedAt}::text::timestamptz`
    return {
      account: account.id === null ? undefined : account,
      passed: async () => {
        await withinDeadline(() => sql`delete from login_failures where ${pair} and failed_at <= ${at}`)
      },
      withdrawn: async () => {
        // One row: two attempts of the pair may share a timestamp (the embedded clock is coarser).
        await withinDeadline(() => sql`
          delete from login_failures where ctid = (select ctid from login_failures where ${pair} and failed_at = ${at} limit 1)`)
      },
    }
  }

  /**
   * `password` checked against the account of `email`, as `client` tries it: throttled and counted
   * like any password check (see `reserve`). The account when the password is its own.
   */
  const checkPassword = async (email: string, client: string, password: string): Promise<Account | undefined> => {
    const attempt = await reserve(email, client)
    const { account } = attempt
    let matches: boolean
    try {
      matches = await hasher.verify(password, account?.password_hash)
    } catch (error) {
      // Not decided (the hash queue was full, the database away): it does not count.
      await attempt.withdrawn().catch(() => {})
      throw error
    }
    if (!matches || !account) return undefined
    await attempt.passed()
    return account
  }

  return {
    checkPassword,

    async login(email: string, password: string, client: string): Promise<TokenPair> {
      const account = await checkPassword(email, client, password)
      if (!account) throw problems.unauthorized('credentials')
      return issue({ id: Number(account.id), role: account.role!, ver: account.token_version! })
    },

    /**
     * A new pair for a refresh token, which is retired at once, its successor stored in the same
     * statement: of two concurrent uses one wins, and the loser, finding the token retired, revokes
     * the whole family, the winner's new token included. A family with a revoked token is dead: a
     * revocation (logout, reuse) racing a refresh cannot see the successor being stored, but the
     * successor, once used, sees the revoked token before it.
     */
    async refresh(token: string): Promise<TokenPair> {
      sweep()
      const hash = refreshTokenHash(token)
      const next = newRefreshToken()
      const [current] = await withinDeadline(() => sql<{ id: string; role: Role; token_version: number }[]>`
        with used as (
          update refresh_tokens set retired_at = clock_timestamp()
          where token_hash = ${hash} and retired_at is null and revoked_at is null and expires_at > clock_timestamp()
            and not exists (select 1 from refresh_tokens revoked where revoked.family = refresh_tokens.family and revoked.revoked_at is not null)
          returning family, user_id),
        successor as (
          insert into refresh_tokens (token_hash, family, user_id, expires_at)
          select ${refreshTokenHash(next)}, family, user_id, clock_timestamp() + make_interval(secs => ${refreshTokenTtl}) from used)
        select u.id, u.role, u.token_version from used join users u on u.id = used.user_id`)
      if (current) return pairOf({ id: Number(current.id), role: current.role, ver: current.token_version }, next)
      await withinDeadline(() => sql`
        update refresh_tokens set revoked_at = clock_timestamp()
        where family = (select family from refresh_tokens where token_hash = ${hash} and retired_at is not null) and revoked_at is null`)
      throw problems.unauthorized('refresh')
    },

    /** Revokes the family of a refresh token; an unknown token is a 401. */
    async logout(token: string): Promise<void> {
      const [found] = await withinDeadline(() => sql`
        with family as (select family from refresh_tokens where token_hash = ${refreshTokenHash(token)}),
        revoked as (update refresh_tokens set revoked_at = clock_timestamp() where family in (select family from family) and revoked_at is null)
        select 1 from family`)
      if (!found) throw problems.unauthorized('refresh')
    },
  }
}

export type Logins = ReturnType<typeof createLogins>
