/**
 * Access tokens (JWT, HS256, `kid` naming the key) and opaque refresh tokens. The algorithm is
 * pinned when verifying, so `none` and every other `alg` are refused.
 */
import { SignJWT, decodeProtectedHeader, jwtVerify } from 'jose'
import type { PendingQuery, Sql } from 'postgres'

export type Role = 'user' | 'admin'

/** Who a valid access token speaks for. Its `ver` must still match the user's token version. */
export interface Caller {
  id: number
  role: Role
  ver: number
}

interface SigningKey {
  kid: string
  key: CryptoKey
}

const ALGORITHM = 'HS256'
const encoder = new TextEncoder()

const importKey = (secret: Uint8Array) =>
  crypto.subtle.importKey('raw', secret as Uint8Array<ArrayBuffer>, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])

const sha256 = (bytes: Uint8Array | string) => new Bun.CryptoHasher('sha256').update(bytes).digest()

/** The key id of a configured secret: a short digest, so the header says which key without telling it. */
const kidOf = (secret: string) => `k${sha256(secret).toString('hex').slice(0, 12)}`

/**
 * The signing keys: `AUTH_SECRET`'s when set (the first signs). Otherwise one generated at the
 * first start and kept in the database: inserted if absent, then read back, so that concurrent
 * first starts, every worker and every instance agree on it.
 */
export const loadSigningKeys = async (sql: Sql, secrets: string[]): Promise<SigningKey[]> => {
  if (secrets.length > 0) return Promise.all(secrets.map(async (secret) => ({ kid: kidOf(secret), key: await importKey(encoder.encode(secret)) })))
  const generated = crypto.getRandomValues(new Uint8Array(32))
  await sql`insert into signing_keys (id, secret) values ('generated-1', ${Buffer.from(generated)}) on conflict (id) do nothing`
  const rows = await sql<{ id: string; secret: Buffer }[]>`select id, secret from signing_keys order by created_at, id`
  return Promise.all(rows.map(async (row) => ({ kid: row.id, key: await importKey(new Uint8Array(row.secret)) })))
}

const DECIMAL_ID = /^[1-9][0-9]{0,15}$/
// `users.token_version` is an `integer`, from 1.
const MAX_TOKEN_VERSION = 2_147_483_647
const VERIFIED_CACHE_SIZE = 10_000

/** `createTokens(keys, ttl)`: signs and verifies access tokens with `keys` (a loader, cached once it succeeds). */
export const createTokens = (loadKeys: () => Promise<SigningKey[]>, { accessTokenTtl }: { accessTokenTtl: number }) => {
  let keys: Promise<SigningKey[]> | undefined
  // Tokens already verified, until they expire: a client sends the same one many times. Whether its
  // user still has that version is for the statement to say, every time.
  const verified = new Map<string, { caller: Caller; exp: number }>()
  const current = () => (keys ??= loadKeys().catch((error) => ((keys = undefined), Promise.reject(error))))
  const known = (token: string) => {
    const seen = verified.get(token)
    return seen && seen.exp > Date.now() / 1000 ? seen.caller : undefined
  }
  return {
    /** A new access token for `caller`, valid `accessTokenTtl` seconds. */
    async sign(caller: Caller) {
      const [signing] = await current()
      return new SignJWT({ role: caller.role, ver: caller.ver })
        .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT', kid: signing!.kid })
        .setSubject(String(caller.id))
        .setIssuedAt()
        .setExpirationTime(`${accessTokenTtl}s`)
        .sign(signing!.key)
    },
    /** The caller of a token verified before and not expired yet: no promise on the hot path. */
    known,
    /** The caller a token speaks for, or undefined when it is not a valid, unexpired token of ours. */
    async verify(token: string): Promise<Caller | undefined> {
      const seen = known(token)
      if (seen) return seen
      // Loading the keys may fail (the database is down): that is a 503, not a bad token.
      const keys = await current()
      // One spelling per signature: base64url's last character carries bits no byte needs, which
      // the decoder ignores, so `…k` and `…l` would be the same signature.
      const signature = token.slice(token.lastIndexOf('.') + 1)
      if (Buffer.from(signature, 'base64url').toString('base64url') !== signature) return undefined
      try {
        const { kid, alg } = decodeProtectedHeader(token)
        const key = keys.find((candidate) => candidate.kid === kid)
        if (!key || alg !== ALGORITHM) return undefined
        const { payload } = await jwtVerify(token, key.key, { algorithms: [ALGORITHM], requiredClaims: ['sub', 'exp', 'iat'] })
        const { sub, role, ver } = payload
        // Only values a user can have: whoever else holds the key must not reach the database with others.
        if (typeof sub !== 'string' || !DECIMAL_ID.test(sub) || Number(sub) > Number.MAX_SAFE_INTEGER) return undefined
        if ((role !== 'user' && role !== 'admin') || !Number.isInteger(ver) || (ver as number) < 1 || (ver as number) > MAX_TOKEN_VERSION) return undefined
        const caller: Caller = { id: Number(sub), role, ver: ver as number }
        if (verified.size >= VERIFIED_CACHE_SIZE) verified.clear()
        verified.set(token, { caller, exp: payload.exp! })
        return caller
      } catch {
        return undefined
      }
    },
  }
}

export type Tokens = ReturnType<typeof createTokens>

/**
 * `callerCheck(sql)(caller)`: the SQL condition that the caller still exists with the token's
 * version (always true without a caller, i.e. without access control): put it in the statement
 * that does the work. One fragment per caller, kept as long as its verified token is: a fragment
 * is a query object, and building one for every read is work an authenticated read need not do.
 */
export const callerCheck = (sql: Sql) => {
  const always = sql`true`
  const checks = new WeakMap<Caller, PendingQuery<any>>()
  return (caller: Caller | undefined) => {
    if (!caller) return always
    let check = checks.get(caller)
    if (!check) checks.set(caller, (check = sql`exists (select 1 from users c where c.id = ${caller.id} and c.token_version = ${caller.ver})`))
    return check
  }
}

/** A new opaque refresh token: 256 random bits, base64url. */
export const newRefreshToken = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')

/** What is stored of a refresh token: its SHA-256. */
export const refreshTokenHash = (token: string) => sha256(token)
