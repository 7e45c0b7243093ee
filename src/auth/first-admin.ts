/**
 * The first admin: from `ADMIN_EMAIL` and `ADMIN_PASSWORD` at start (only while no admin exists,
 * never changing an existing user), or by `users-api create-admin EMAIL` (creates the admin, or
 * makes an existing user an admin with that password: the way back in).
 */
import type { Sql } from 'postgres'
import type { Logger } from '../logger'
import { normalizePassword, passwordWeakness } from './passwords'

const NAME = 'Administrator'
const AGE = 30

/** Thrown for a password that breaks the rules; the message never contains it. */
export class WeakPassword extends Error {
  override name = 'WeakPassword'
}

const strongHash = async (email: string, password: string, variable: string, name = NAME) => {
  const weakness = await passwordWeakness(password, { email, name })
  if (weakness) throw new WeakPassword(`${variable} ${weakness}`)
  return Bun.password.hash(normalizePassword(password), { algorithm: 'argon2id' })
}

/** Whether an admin exists, or (with `email`) a user of that email. */
const adminExists = async (sql: Sql, orEmail?: string) =>
  (await sql<{ exists: boolean }[]>`
    select exists (select 1 from users where role = 'admin' or lower(email) = lower(${orEmail ?? null})) as exists`)[0]!.exists

/** At start: creates the configured admin if there is no admin yet; says how to make one if nothing is configured. */
export const ensureFirstAdmin = async (sql: Sql, admin: { email: string; password: string } | undefined, logger: Logger) => {
  if (await adminExists(sql)) return
  if (!admin) {
    logger.warn('no admin yet: set ADMIN_EMAIL and ADMIN_PASSWORD, or run `users-api create-admin EMAIL` (`bun run create-admin EMAIL` from source; the password on standard input)')
    return
  }
  const hash = await strongHash(admin.email, admin.password, 'ADMIN_PASSWORD')
  const created = await sql`
    insert into users (name, email, age, role, password_hash)
    select ${NAME}, ${admin.email}, ${AGE}, 'admin', ${hash}
    where not exists (select 1 from users where role = 'admin')
    on conflict (lower(email)) do nothing
    returning id`
  if (created.length > 0) {
    logger.info('first admin created', { id: Number(created[0]!.id) })
    return
  }
  // Nothing inserted: the email is a user's, or another instance starting at once made the admin.
  const [existing] = await sql<{ role: string }[]>`select role from users where lower(email) = lower(${admin.email})`
  if (existing && existing.role !== 'admin')
    logger.warn('ADMIN_EMAIL belongs to an existing user, who was left unchanged: use `users-api create-admin EMAIL` to make them an admin')
}

/**
 * For a worker other than the one that creates the first admin: true once that is settled, i.e.
 * an admin exists or `email` belongs to a user (whom the first worker leaves unchanged, so no admin
 * is coming); false after `timeoutMs` (the database stayed away, or the first worker failed).
 */
export const firstAdminSettled = async (sql: Sql, email: string, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await adminExists(sql, email).catch(() => false)) return true
    // Often: until this worker sees the admin it answers 503 while the first worker is ready (a
    // load balancer may send it requests already); a few cheap reads for the time of one hash.
    await Bun.sleep(20)
  }
  return false
}

/** Creates the admin `email`, or makes that user an admin with this password (their tokens end). */
export const createOrPromoteAdmin = async (sql: Sql, email: string, password: string): Promise<'created' | 'promoted'> => {
  // An existing user's password must not be their own name either.
  const [existing] = await sql<{ name: string }[]>`select name from users where lower(email) = lower(${email})`
  const hash = await strongHash(email, password, 'the password', existing?.name)
  // A change like any other: the version (the ETag) moves too.
  const [row] = await sql<{ created: boolean }[]>`
    insert into users (name, email, age, role, password_hash) values (${NAME}, ${email}, ${AGE}, 'admin', ${hash})
    on conflict (lower(email)) do update set
      role = 'admin', password_hash = excluded.password_hash, token_version = users.token_version + 1,
      version = users.version + 1, updated_at = clock_timestamp()
    returning (xmax = 0) as created`
  await sql`update refresh_tokens set revoked_at = clock_timestamp() where revoked_at is null and user_id = (select id from users where lower(email) = lower(${email}))`
  return row!.created ? 'created' : 'promoted'
}

/** Forgets the failed logins of `email` (every client): it is no longer throttled. */
export const unlockEmail = async (sql: Sql, email: string) => (await sql`delete from login_failures where email = lower(${email})`).count
