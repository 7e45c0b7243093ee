/**
 * The rules on a new password that need no dictionary: its length and that it is not the
 * account's email or name. Small and free of imports, so that the configuration can check
 * `ADMIN_PASSWORD` before anything starts; `./passwords` adds the dictionary's verdict.
 */

/** Code points, after NFKC (NIST SP 800-63B-4 for a single factor). */
export const PASSWORD_LENGTH = { minLength: 15, maxLength: 128 } as const

export const LENGTH_RULE = `must be ${PASSWORD_LENGTH.minLength} to ${PASSWORD_LENGTH.maxLength} characters long`

export const normalizePassword = (password: string) => password.normalize('NFKC')

/** Which of these rules `password` breaks, for the user with `email` and `name`; undefined if none. The message never contains it. */
export const plainRuleBreach = (password: string, { email, name }: { email?: string; name?: string }) => {
  const normalized = normalizePassword(password)
  const length = [...normalized].length
  if (length < PASSWORD_LENGTH.minLength || length > PASSWORD_LENGTH.maxLength) return LENGTH_RULE
  const lower = normalized.toLowerCase()
  if ((email && lower === email.toLowerCase()) || (name && lower === name.toLowerCase())) return 'must not be the email or the name'
  return undefined
}
