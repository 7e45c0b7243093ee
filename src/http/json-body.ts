import { Elysia } from 'elysia'
import { MAX_JSON_DEPTH } from './problem'
import { problems } from './problems'

const FORM = 'application/x-www-form-urlencoded'

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH'])
const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json$/
// No `Content-Encoding`, or `identity`: a body this service reads as it comes.
const IDENTITY = /^[ \t]*(?:identity[ \t]*)?$/i

const isJson = (contentType: string | null) =>
  contentType !== null && JSON_MEDIA_TYPE.test(contentType.split(';', 1)[0]!.trim().toLowerCase())

/** Whether `value` nests deeper than `depth` levels; looks no deeper than that. */
const nestsDeeperThan = (value: unknown, depth: number): boolean => {
  if (typeof value !== 'object' || value === null) return false
  if (depth === 0) return true
  for (const member of Object.values(value)) if (nestsDeeperThan(member, depth - 1)) return true
  return false
}

/** Reads at most `limit` bytes, so an oversized body without `Content-Length` is cut off early. */
const readLimited = async (request: Request, limit: number): Promise<Uint8Array> => {
  if (!request.body) return new Uint8Array()
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength
    if (size > limit) throw problems.bodyTooLarge(limit)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks, size)
}

/**
 * The body parser for the whole app: JSON only (415 otherwise), at most `limit` bytes (413,
 * decided from `Content-Length` without reading when it is declared), well-formed UTF-8 JSON
 * nested at most `MAX_JSON_DEPTH` levels (400). Bodies of other methods are ignored. The depth
 * limit costs our flat bodies nothing; without it a 64 KiB body of nested arrays made Elysia's
 * validation error spend seconds pretty-printing it and then fail with a 500.
 */
const parseJsonBody = (limit: number, formPaths: readonly string[]) => async ({ request, path }: { request: Request; path: string }) => {
  if (!BODY_METHODS.has(request.method)) return null
  if (!IDENTITY.test(request.headers.get('content-encoding') ?? '')) throw problems.compressedBody()
  const contentType = request.headers.get('content-type')
  const formToo = formPaths.includes(path)
  if (formToo && contentType?.split(';', 1)[0]!.trim().toLowerCase() === FORM) return readFormBody(request, limit)
  if (!isJson(contentType)) throw problems.notJson(formToo)
  return readJsonBody(request, limit)
}

const decodeFormPart = (part: string) => decodeURIComponent(part.replaceAll('+', ' '))

/**
 * The fields of a form, strictly: an escape that is not `%` and two hex digits, or that decodes to
 * bytes which are not UTF-8, throws (`URLSearchParams` would put U+FFFD in its place, and a
 * password so mangled would count as a failed login); so does a name sent twice (RFC 6749 §3.2).
 */
const formFields = (text: string) => {
  const fields = new Map<string, string>()
  for (const pair of text.split('&')) {
    if (pair === '') continue
    const equals = pair.indexOf('=')
    const name = decodeFormPart(equals < 0 ? pair : pair.slice(0, equals))
    if (fields.has(name)) throw new URIError('a repeated name')
    fields.set(name, equals < 0 ? '' : decodeFormPart(pair.slice(equals + 1)))
  }
  return Object.fromEntries(fields)
}

/** A form body (`application/x-www-form-urlencoded`) as an object of strings (400 unless a valid form). */
const readFormBody = async (request: Request, limit: number) => {
  const bytes = await readBody(request, limit)
  try {
    return { [FORM_BODY]: true, ...formFields(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) }
  } catch {
    throw problems.invalidForm()
  }
}

/** The bytes of a body of at most `limit` bytes (413 beyond). */
const readBody = async (request: Request, limit: number): Promise<Uint8Array> => {
  const length = request.headers.get('content-length')
  const declared = Number(length)
  if (declared > limit) throw problems.bodyTooLarge(limit)
  // A declared length bounds the body already, and Bun's native read is far cheaper than
  // iterating the stream (profiled: a quarter of a POST's time); a chunked body is read capped.
  return length !== null && Number.isInteger(declared) ? new Uint8Array(await request.arrayBuffer()) : readLimited(request, limit)
}

/** A JSON body as `jsonBody` reads it (413, 400). */
const readJsonBody = async (request: Request, limit: number) => {
  const bytes = await readBody(request, limit)
  let body: unknown
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    throw problems.invalidJson()
  }
  if (nestsDeeperThan(body, MAX_JSON_DEPTH))
    throw problems.tooDeep()
  return body
}

/** Marks a body that came as a form (a symbol: no JSON body can have it). */
export const FORM_BODY = Symbol('form body')

/**
 * `jsonBody({ limit, formPaths })`: every request body read as JSON of at most `limit` bytes (see
 * above); on `formPaths`, a form body too, marked with `FORM_BODY`.
 */
export const jsonBody = ({ limit, formPaths = [] }: { limit: number; formPaths?: readonly string[] }) =>
  new Elysia({ name: 'json-body', seed: { limit, formPaths } }).onParse({ as: 'global' }, parseJsonBody(limit, formPaths))
