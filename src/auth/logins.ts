/**
 * Logging in: the password check, throttled per (email, client) and per email in the database,
 * and the refresh tokens. Unknown emails are counted like known ones, and checked against a dummy
 * hash, so neither a 401 nor a 429 tells whether an account exists.
 */
import type { PendingQuery, Sql } from 'postgres'
import { withDeadline } from '../db/deadline'
import { problems } from '../http/problems'
import type { Hasher } from './passwords'
import { newRefreshToken, refreshTokenHash, type Caller, type Role, type Tokens } from './tokens'

/** Failures per (email, client) within `PAIR_WINDOW` that throttle that pair. */
const PAIR_LIMIT = 5
const PAIR_WINDOW = '15 minutes'
/** Failures per email, from all clients, within `EMAIL_WINDOW` that throttle that email. */
const EMAIL_LIMIT = 100
const EMAIL_WINDOW = '24 hours'

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
  pair_wait: number | null
  email_wait: number | null
}

export const createLogins = (
  sql: Sql,
  { hasher, tokens, accessTokenTtl, refreshTokenTtl, timeoutMs }: { hasher: Hasher; tokens: Tokens; accessTokenTtl: number; refreshTokenTtl: number; timeoutMs: number },
) => {
  const withinDeadline = <Q extends PendingQuery<any>>(query: () => Q) => withDeadline(query, timeoutMs)

  /** A new access token and a new refresh token in `family` (a new one: a new login). */
  const issue = async (caller: Caller, family: string = crypto.randomUUID()): Promise<TokenPair> => {
    const refresh = newRefreshToken()
    await withinDeadline(() => sql`
      insert into refresh_tokens (token_hash, family, user_id, expires_at)
      values (${refreshTokenHash(refresh)}, ${family}, ${caller.id}, clock_timestamp() + make_interval(secs => ${refreshTokenTtl}))`)
    return { access_token: await tokens.sign(caller), token_type: 'Bearer', expires_in: accessTokenTtl, refresh_token: refresh }
  }

  /** Counts a failed login (a wrong password, or a wrong `current_password`). */
  const recordFailure = (email: string, client: string) =>
    withinDeadline(() => sql`insert into login_failures (email, client) values (lower(${email}), ${client})`)

  return {
    recordFailure,

    async login(email: string, password: string, client: string): Promise<TokenPair> {
      // The waits are the seconds until the failure that makes the count reach its limit leaves the window.
      const [account] = await withinDeadline(() => sql<Account[]>`
        select u.id, u.role, u.token_version, u.password_hash,
          (select ceil(extract(epoch from failed_at + ${PAIR_WINDOW}::interval - clock_timestamp()))::int
             from login_failures where email = lower(${email}) and client = ${client}
             and failed_at > clock_timestamp() - ${PAIR_WINDOW}::interval
             order by failed_at desc offset ${PAIR_LIMIT - 1} limit 1) as pair_wait,
          (select ceil(extract(epoch from failed_at + ${EMAIL_WINDOW}::interval - clock_timestamp()))::int
             from login_failures where email = lower(${email})
             and failed_at > clock_timestamp() - ${EMAIL_WINDOW}::interval
             order by failed_at desc offset ${EMAIL_LIMIT - 1} limit 1) as email_wait
        from (select 1) one left join users u on lower(u.email) = lower(${email})`)
      const wait = Math.max(account?.pair_wait ?? 0, account?.email_wait ?? 0)
      if (wait > 0) throw problems.loginThrottled(wait)
      const matches = await hasher.verify(password, account?.password_hash)
      if (!matches || !account?.id) {
        await recordFailure(email, client)
        throw problems.unauthorized('credentials')
      }
      await withinDeadline(() => sql`delete from login_failures where email = lower(${email}) and client = ${client}`)
      return issue({ id: Number(account.id), role: account.role!, ver: account.token_version! })
    },

    /**
     * A new pair for a refresh token, which is retired at once (one statement: of two concurrent
     * uses, one wins). A retired token presented again revokes its whole family.
     */
    async refresh(token: string): Promise<TokenPair> {
      const hash = refreshTokenHash(token)
      const [current] = await withinDeadline(() => sql<{ family: string; id: string; role: Role; token_version: number }[]>`
        with used as (
          update refresh_tokens set retired_at = clock_timestamp()
          where token_hash = ${hash} and retired_at is null and revoked_at is null and expires_at > clock_timestamp()
          returning family, user_id)
        select used.family, u.id, u.role, u.token_version from used join users u on u.id = used.user_id`)
      if (current) return issue({ id: Number(current.id), role: current.role, ver: current.token_version }, current.family)
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
