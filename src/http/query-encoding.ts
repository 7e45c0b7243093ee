import type { TObject } from '@sinclair/typebox'
import { madeFromRequest, type FieldError } from './problem'
import { problems } from './problems'
import { schemaViolations } from './validation-errors'

/** `text` as a query's part decodes (`+` a space); undefined when its percent-encoding is broken. */
const decoded = (text: string) => {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '))
  } catch {
    return undefined
  }
}

/**
 * The parameters of `url`'s query among `known` whose value's percent-encoding is broken (`%ZZ`,
 * a cut-off `%E0%A4%A`), in the query's order. Of a repeated parameter only the last counts, as
 * for its value; a name that does not decode is no known parameter.
 */
const brokenParameters = (url: string, known: readonly string[]): string[] => {
  const start = url.indexOf('?')
  if (start < 0) return []
  const end = url.indexOf('#', start)
  const last = new Map<string, string | undefined>()
  for (const pair of url.slice(start + 1, end < 0 ? undefined : end).split('&')) {
    const split = pair.indexOf('=')
    const name = decoded(split < 0 ? pair : pair.slice(0, split))
    if (name === undefined || !known.includes(name)) continue
    last.delete(name)
    last.set(name, split < 0 ? '' : pair.slice(split + 1))
  }
  return [...last].filter(([, value]) => decoded(value!) === undefined).map(([name]) => name)
}

/**
 * `strictQueryEncoding(schema)`: a route's `transform` for its query `schema`. Elysia would quietly
 * keep a value whose percent-encoding is broken undecoded; here a known parameter's is a 422
 * naming it, listed with every other violation of the query. Unknown parameters are ignored,
 * however they are encoded.
 */
export const strictQueryEncoding = (schema: TObject) => {
  // In the schema's order, as Elysia's own 422 for the query lists them.
  const known = Object.keys(schema.properties)
  return ({ request, query }: { request: Request; query: Record<string, unknown> }) => {
    const broken = brokenParameters(request.url, known)
    if (broken.length === 0) return
    const rest = { ...query }
    for (const name of broken) delete rest[name]
    const errors: FieldError[] = [...schemaViolations(schema, rest), ...broken.map((field) => ({ field, message: 'is not valid percent-encoding' }))]
    throw madeFromRequest(problems.invalidRequest(errors.sort((a, b) => known.indexOf(a.field) - known.indexOf(b.field))))
  }
}
