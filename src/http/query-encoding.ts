import type { FieldError } from './problem'

const decode = (text: string) => decodeURIComponent(text.replace(/\+/g, ' '))

/**
 * Query parameters whose percent-encoding is broken (`%ZZ`, a cut-off `%E0%A4%A`). Elysia would
 * quietly keep such a value undecoded; the contract calls it malformed.
 */
export const malformedQueryParameters = (url: string): FieldError[] => {
  const start = url.indexOf('?')
  if (start < 0) return []
  const end = url.indexOf('#', start)
  const errors: FieldError[] = []
  for (const pair of url.slice(start + 1, end < 0 ? undefined : end).split('&')) {
    const split = pair.indexOf('=')
    const key = split < 0 ? pair : pair.slice(0, split)
    try {
      decode(key)
      if (split >= 0) decode(pair.slice(split + 1))
    } catch {
      errors.push({ field: key, message: 'is not valid percent-encoding' })
    }
  }
  return errors
}
