/**
 * Passwords: the rules a new one must meet, and argon2id hashing with bounded concurrency. A
 * password is never logged, returned or put in an error body; only its hash is stored.
 */
import type { ZxcvbnFactory } from '@zxcvbn-ts/core'
import { problems } from '../http/problems'
import { normalizePassword, plainRuleBreach } from './password-rules'

export { PASSWORD_LENGTH, normalizePassword } from './password-rules'
/** The zxcvbn score a password must reach. */
const MIN_SCORE = 3
/** Hashes that may wait for a free slot, beyond which a request gets 429. */
export const HASH_QUEUE_LIMIT = 64
/** What a full queue's `Retry-After` says. */
const HASH_RETRY_AFTER_SECONDS = 1

let estimator: Promise<ZxcvbnFactory> | undefined
// The dictionaries are megabytes: loaded on the first check, not at start.
const loadEstimator = () =>
  (estimator ??= (async () => {
    const [{ ZxcvbnFactory }, common] = await Promise.all([import('@zxcvbn-ts/core'), import('@zxcvbn-ts/language-common')])
    return new ZxcvbnFactory({ dictionary: { ...common.dictionary }, graphs: common.adjacencyGraphs })
  })())

/**
 * What is wrong with `password` as a new password for the user with `email` and `name`, or
 * undefined when it is acceptable. The message never contains the password.
 */
export const passwordWeakness = async (password: string, { email, name }: { email?: string; name?: string }) => {
  const breach = plainRuleBreach(password, { email, name })
  if (breach) return breach
  const normalized = normalizePassword(password)
  const zxcvbn = await loadEstimator()
  const inputs = [email, name].filter((value): value is string => Boolean(value))
  if (zxcvbn.check(normalized, inputs).score < MIN_SCORE) return 'is too easy to guess: use a longer phrase of unrelated words'
}

/**
 * `createHasher({ concurrency })`: argon2id (64 MiB each) with at most `concurrency` running at
 * once and at most `HASH_QUEUE_LIMIT` waiting; beyond that, `problems.hashQueueFull` (429).
 * `dummyHash` is made with the same parameters, so that checking a password against no account
 * costs what checking a real one does.
 */
export const createHasher = ({ concurrency }: { concurrency: number }) => {
  let running = 0
  const waiting: (() => void)[] = []
  const slot = async <T>(work: () => Promise<T>): Promise<T> => {
    if (running >= concurrency) {
      if (waiting.length >= HASH_QUEUE_LIMIT) throw problems.hashQueueFull(HASH_RETRY_AFTER_SECONDS)
      await new Promise<void>((resolve) => waiting.push(resolve))
    } else running++
    try {
      return await work()
    } finally {
      const next = waiting.shift()
      if (next) next()
      else running--
    }
  }
  let dummy: Promise<string> | undefined
  const dummyHash = () => (dummy ??= Bun.password.hash(crypto.randomUUID(), { algorithm: 'argon2id' }))
  return {
    hash: (password: string) => slot(() => Bun.password.hash(normalizePassword(password), { algorithm: 'argon2id' })),
    /** Whether `password` matches `hash`; with no hash, checks against the dummy and says no. */
    verify: (password: string, hash: string | null | undefined) =>
      slot(async () => {
        const matches = await Bun.password.verify(normalizePassword(password), hash ?? (await dummyHash()), 'argon2id')
        return Boolean(hash) && matches
      }),
    dummyHash,
  }
}

export type Hasher = ReturnType<typeof createHasher>
