/**
 * The user's field rules, written once: the body, query and response schemas, the OpenAPI
 * document and the error messages all come from these. The `users` table's CHECK constraints say
 * the same in SQL (a test compares them).
 */
import { PASSWORD_LENGTH } from '../auth/passwords'
import { jsonInteger, strictEnum, strictText } from '../schema/strict-types'

/** The roles a user can have. */
export const ROLES = ['user', 'admin'] as const

/** Code points of a name after trimming. */
export const NAME_LENGTH = { minLength: 1, maxLength: 100 } as const
/** Characters of an email after trimming. */
export const EMAIL_LENGTH = { minLength: 3, maxLength: 254 } as const
/** The business rule on age: a JSON integer outside it is a 400, not a 422. */
export const AGE_RANGE = { minimum: 1, maximum: 120 } as const
/** Ids are JSON numbers: they stay exact up to 2^53 - 1. */
export const ID_RANGE = { minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const

/** The rules of each field a client writes, as `t` schemas; `describe` adds documentation. */
export const userFields = {
  name: (described: { description?: string; example?: string } = {}) => strictText({ ...NAME_LENGTH, trim: true, ...described }),
  email: (described: { description?: string; example?: string } = {}) =>
    strictText({ ...EMAIL_LENGTH, trim: true, format: 'email', ...described }),
  age: (described: { description?: string; example?: number } = {}) => jsonInteger({ ...AGE_RANGE, outOfRange: 'business', ...described }),
  role: (described: { description?: string } = {}) => strictEnum(ROLES, described),
  /** Write-only; its length counts its NFKC form, as it is stored; its strength (zxcvbn) is checked once the schema holds. */
  password: (described: { description?: string } = {}) => strictText({ ...PASSWORD_LENGTH, nfkc: true, controls: 'c0', ...described }),
}
