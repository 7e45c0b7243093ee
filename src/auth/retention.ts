/**
 * What logins leave behind is deleted once it can no longer matter, a batch at a time: failed
 * logins older than the longest throttling window, and the refresh tokens of a family with no
 * unexpired token left. A family is deleted whole: its retired and revoked tokens are what reuse
 * detection and revocation look at while any of its tokens can still be used.
 */
import type { Sql } from 'postgres'
import { sweeper } from '../db/sweeper'

export const loginSweeper = (sql: Sql, { failureWindow }: { failureWindow: string }) =>
  sweeper(() =>
    Promise.all([
      sql`delete from login_failures where ctid = any(array(
        select ctid from login_failures where failed_at < clock_timestamp() - ${failureWindow}::interval limit 1000))`,
      sql`delete from refresh_tokens where token_hash = any(array(
        select t.token_hash from refresh_tokens t
        where t.expires_at <= clock_timestamp()
          and not exists (select 1 from refresh_tokens live where live.family = t.family and live.expires_at > clock_timestamp())
        limit 1000))`,
    ]),
  )
