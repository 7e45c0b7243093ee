import { Elysia } from 'elysia'
import { MAX_FIELD_ERRORS, echoedFieldName, type FieldError } from './problem'
import { problems } from './problems'

const decode = (text: string) => decodeURIComponent(text.replace(/\+/g, ' '))

/**
 * Query parameters whose percent-encoding is broken (`%ZZ`, a cut-off `%E0%A4%A`). Elysia would
 * quietly keep such a value undecoded; the API refuses it as malformed.
 */
const malformedQueryParameters = (url: string): FieldError[] => {
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
      // Within the problem body's limits, as every field error is.
      errors.push({ field: echoedFieldName(key), message: 'is not valid percent-encoding' })
      if (errors.length === MAX_FIELD_ERRORS) break
    }
  }
  return errors
}

/** `strictQueryEncoding()`: a query with broken percent-encoding is a 422 naming each parameter. */
export const strictQueryEncoding = () =>
  new Elysia({ name: 'strict-query-encoding' }).onTransform({ as: 'global' }, ({ request }) => {
    const errors = malformedQueryParameters(request.url)
    if (errors.length > 0) throw problems.invalidRequest(errors)
  })
