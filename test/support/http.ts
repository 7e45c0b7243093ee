import { createApp, type ServiceState } from '../../src/app'
import { createLogger } from '../../src/logger'
import { loadContract } from './contract'
import { testDatabase } from './database'
import type { Sql } from 'postgres'

export const BODY_LIMIT = 65_536

/** Log lines the app wrote, parsed, for tests that check what was logged. */
export const logLines: Record<string, any>[] = []

/** The settings the suite's app runs with: the defaults, but rate limiting on only where a test asks. */
export const TEST_CONFIG = { bodyLimit: BODY_LIMIT, requestTimeout: 5000, rateLimit: 0, rateLimitWindow: 60, corsOrigins: [] as string[] }

export const testLogger = () => createLogger('debug', { write: (line: string) => void logLines.push(JSON.parse(line)) })

export const buildApp = (sql: Sql, config: Partial<typeof TEST_CONFIG> = {}, state?: ServiceState) =>
  createApp({ config: { ...TEST_CONFIG, ...config }, sql, logger: testLogger(), state })

let app: ReturnType<typeof buildApp> | undefined

/** The app on the suite's database. */
export const testApp = async () => (app ??= buildApp((await testDatabase()).sql))

export interface Reply {
  status: number
  headers: Headers
  text: string
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  body: any
}

export interface CallOptions {
  /** Sent as JSON with `Content-Type: application/json`. */
  json?: unknown
  /** Sent as is. */
  body?: RequestInit['body']
  headers?: Record<string, string>
}

type Target = { handle(request: Request): Promise<Response> }

/** The OpenAPI document's contract, as `app` serves it. */
const contractOf = (app: Target) => loadContract(() => app.handle(new Request('http://localhost/openapi.json')))

/**
 * One request through `app.handle` (the suite's app unless `target` is given), as a client would send
 * it. The response is checked against the OpenAPI document: one it does not describe fails the test.
 */
export const call = async (method: string, path: string, options: CallOptions = {}, target?: Target): Promise<Reply> => {
  const headers = new Headers(options.headers)
  let body = options.body
  if (options.json !== undefined) {
    body = JSON.stringify(options.json)
    if (!headers.has('content-type')) headers.set('content-type', 'application/json')
  }
  const app = target ?? (await testApp())
  const request = new Request(`http://localhost${path}`, { method, headers, body })
  const response = await app.handle(request)
  const text = await response.text()
  ;(await contractOf(app)).check(request.method, request.url, { status: response.status, headers: response.headers, text })
  let parsed: unknown
  try {
    parsed = text === '' ? undefined : JSON.parse(text)
  } catch {
    parsed = undefined
  }
  return { status: response.status, headers: response.headers, text, body: parsed }
}

/** The contract of the suite's app. */
export const testContract = async () => contractOf(await testApp())

/** `request` through the suite's app as it is, its response checked against the document like `call`'s. */
export const handle = async (request: Request): Promise<Response> => {
  const app = await testApp()
  const { method, url } = request
  const response = await app.handle(request)
  const text = await response.clone().text()
  ;(await contractOf(app)).check(method, url, { status: response.status, headers: response.headers, text })
  return response
}

/** A suffix that makes names and emails of one test its own, so tests need no clean-up. */
export const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`

export const newUser = (overrides: Record<string, unknown> = {}) => {
  const tag = unique()
  return { name: `User ${tag}`, email: `user-${tag}@example.com`, age: 30, ...overrides }
}

/** Creates a user and returns it, failing the test if that does not give 201. */
export const createUser = async (overrides: Record<string, unknown> = {}) => {
  const reply = await call('POST', '/users', { json: newUser(overrides) })
  if (reply.status !== 201) throw new Error(`create gave ${reply.status}: ${reply.text}`)
  return reply.body as { id: number; name: string; email: string; age: number; created_at: string; updated_at: string }
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/** Checks the headers every problem response carries and returns its body. */
export const expectProblem = (reply: Reply, status: number) => {
  if (reply.status !== status) throw new Error(`expected ${status}, got ${reply.status}: ${reply.text}`)
  if (reply.headers.get('content-type') !== 'application/problem+json')
    throw new Error(`expected problem+json, got ${reply.headers.get('content-type')}`)
  if (!reply.headers.get('x-request-id')) throw new Error('missing X-Request-Id')
  const body = reply.body
  if (body?.type !== 'about:blank' || body.status !== status || typeof body.title !== 'string' || typeof body.detail !== 'string')
    throw new Error(`not a problem body: ${reply.text}`)
  return body as { type: string; title: string; status: number; detail: string; errors?: { field: string; message: string }[] }
}

export { ISO_UTC }
