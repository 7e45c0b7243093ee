/**
 * The OpenAPI document as a test oracle: every response the suite receives is checked against what
 * the document says that operation answers with that status (headers, media type, body schema), so
 * behaviour and document cannot drift apart. A status the document does not list fails the test.
 */
import SwaggerParser from '@apidevtools/swagger-parser'
import Ajv, { type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import type { OpenAPIV3 } from 'openapi-types'
import { API_RESPONSE_HEADERS } from '../../src/http/cors'

type Schema = OpenAPIV3.SchemaObject

// The contract leaves the docs out of the document (the page, its script, the document itself).
const UNDOCUMENTED = new Set(['/docs', '/docs/scalar.js', '/openapi.json'])
const METHODS = ['get', 'post', 'patch', 'delete', 'put', 'head', 'options', 'trace'] as const

interface Operation {
  method: string
  template: string
  pattern: RegExp
  operation: OpenAPIV3.OperationObject
}

/** A JSON Schema validator that knows OpenAPI 3.0's formats and `example` keyword. */
const createAjv = () => {
  const ajv = new Ajv({ allErrors: true, strict: true })
  addFormats(ajv)
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 })
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) })
  ajv.addKeyword('example')
  return ajv
}

// Elysia matches a path with or without one trailing slash (but `/` is not `//`).
const patternOf = (template: string) => new RegExp(`^${template.replace(/\/$/, '').replace(/\{[^/}]+\}/g, '[^/]+')}/?$`)

const describe = (errors: ValidateFunction['errors']) =>
  (errors ?? []).map((error) => `${error.instancePath || '(root)'} ${error.message}`).join('; ')

const excerpt = (text: string) => (text.length > 300 ? `${text.slice(0, 300)}…` : text)

export class ContractViolation extends Error {
  override name = 'ContractViolation'
}

export interface CheckedResponse {
  status: number
  headers: Headers
  text: string
}

/** The dereferenced document and validators compiled from it. */
export class Contract {
  private readonly ajv = createAjv()
  private readonly compiled = new WeakMap<object, ValidateFunction>()
  readonly operations: Operation[]

  constructor(readonly document: OpenAPIV3.Document) {
    this.operations = Object.entries(document.paths).flatMap(([template, item]) =>
      METHODS.filter((method) => item?.[method]).map((method) => ({
        method,
        template,
        pattern: patternOf(template),
        operation: item![method] as OpenAPIV3.OperationObject,
      })),
    )
  }

  /** The `Problem` schema, for answers the document cannot describe (an unknown path, a 405). */
  private get problemSchema() {
    return this.document.components!.schemas!.Problem as Schema
  }

  validate(schema: Schema, value: unknown): string | undefined {
    let validator = this.compiled.get(schema)
    if (!validator) this.compiled.set(schema, (validator = this.ajv.compile(schema)))
    return validator(value) ? undefined : describe(validator.errors)
  }

  /** Throws a `ContractViolation` unless the document describes this response to this request. */
  check(method: string, url: string, response: CheckedResponse) {
    const { pathname } = new URL(url, 'http://localhost')
    if (UNDOCUMENTED.has(pathname.replace(/(.)\/$/, '$1'))) return
    // A CORS preflight (with CORS_ORIGINS set) belongs to the browser's protocol, not the API's.
    if (method === 'OPTIONS' && response.status === 204) return
    const where = `${method} ${pathname} → ${response.status}`
    const fail = (why: string): never => {
      throw new ContractViolation(`response does not match the OpenAPI document: ${where}: ${why}\n  body: ${excerpt(response.text)}`)
    }
    // Bun answers HEAD for every GET route, with the GET's headers and no body.
    const wanted = method === 'HEAD' ? 'get' : method.toLowerCase()
    const onPath = this.operations.filter((operation) => operation.pattern.test(pathname))
    const match = onPath.find((operation) => operation.method === wanted)

    if (!match) {
      // Not an operation: the contract's 404 (unknown route) or 405 (known path, other method);
      // with rate limiting on, any request may be refused first (429).
      const expected = onPath.length > 0 ? 405 : 404
      if (response.status !== expected && !(response.status === 429 && response.headers.has('ratelimit')))
        fail(`not an operation of the document, so it must be ${expected}`)
      if (response.status === 405 && !response.headers.get('allow')) fail('a 405 without Allow')
      this.checkBody({ 'application/problem+json': { schema: this.problemSchema } }, method, response, fail)
      return
    }

    const responses = match.operation.responses
    const documented = (responses[String(response.status)] ?? responses[`${String(response.status)[0]}XX`] ?? responses.default) as
      OpenAPIV3.ResponseObject | undefined
    if (!documented)
      fail(
        `${match.method.toUpperCase()} ${match.template} does not list ${response.status} (it lists ${Object.keys(responses).join(', ')})`,
      )

    const declared = new Set(Object.keys(documented!.headers ?? {}).map((name) => name.toLowerCase()))
    // A header the service gives meaning to must be documented where sent: a generated client sees it.
    for (const name of API_RESPONSE_HEADERS) if (response.headers.has(name) && !declared.has(name)) fail(`the header ${name} is sent but not documented`)
    for (const [name, header] of Object.entries(documented!.headers ?? {}) as [string, OpenAPIV3.HeaderObject][]) {
      const value = response.headers.get(name)
      if (value === null) {
        if (header.required) fail(`the required header ${name} is missing`)
        continue
      }
      const schema = header.schema as Schema
      const typed = schema.type === 'integer' && /^-?[0-9]+$/.test(value) ? Number(value) : value
      const problem = this.validate(schema, typed)
      if (problem) fail(`header ${name}: ${JSON.stringify(value)}: ${problem}`)
    }
    this.checkBody(documented!.content, method, response, fail)
  }

  private checkBody(
    content: Record<string, OpenAPIV3.MediaTypeObject> | undefined,
    method: string,
    response: CheckedResponse,
    fail: (why: string) => never,
  ) {
    if (!content) {
      if (response.text !== '') fail('the document gives no body, but one was sent')
      return
    }
    const mediaType = (response.headers.get('content-type') ?? '').split(';', 1)[0]!.trim().toLowerCase()
    const media = content[mediaType]
    if (!media) fail(`Content-Type ${JSON.stringify(mediaType)} is not documented (documented: ${Object.keys(content).join(', ')})`)
    if (method === 'HEAD') return
    let body: unknown
    try {
      body = JSON.parse(response.text)
    } catch {
      fail('the body is not JSON')
    }
    const problem = this.validate(media!.schema as Schema, body)
    if (problem) fail(`body: ${problem}`)
  }
}

let contract: Promise<Contract> | undefined

/**
 * The contract, from the document the app serves (`load` fetches `/openapi.json`); validated as
 * OpenAPI 3 and loaded once per test run.
 */
export const loadContract = (load: () => Promise<Response>): Promise<Contract> =>
  (contract ??= (async () => {
    const response = await load()
    if (response.status !== 200) throw new Error(`GET /openapi.json gave ${response.status}`)
    const document = (await SwaggerParser.validate((await response.json()) as OpenAPIV3.Document)) as OpenAPIV3.Document
    return new Contract(document)
  })())

/**
 * Checks `response` to `request` against the document and returns the body's text. It reads a
 * clone, so `response` stays unread for whoever asked.
 */
export const expectDocumented = async (request: Request, response: Response, load: () => Promise<Response>) => {
  const text = await response.clone().text()
  ;(await loadContract(load)).check(request.method, request.url, { status: response.status, headers: response.headers, text })
  return text
}
