import { treaty } from '@elysia/eden'
import type { Sql } from 'postgres'
import { createApp, type App } from '../../src/app'
import type { ServiceState } from '../../src/http/health'
import { createTokens, loadSigningKeys } from '../../src/auth/tokens'
import { loadConfig, type Config } from '../../src/config'
import type { Problem } from '../../src/http/problem'
import { createLogger } from '../../src/logger'
import type { CreateUserInput, User } from '../../src/users/schemas'
import { expectDocumented, loadContract } from './contract'
import { testDatabase } from './database'

/** Log lines the app wrote, parsed, for tests that check what was logged. */
export const logLines: Record<string, any>[] = []

/**
 * The settings the suite's app runs with, read and checked by the service's own `loadConfig`:
 * the defaults, rate limiting off unless a test asks for it.
 */
const SUITE_CONFIG = loadConfig({ BODY_LIMIT: '65536', RATE_LIMIT: '0', AUTH: process.env.AUTH, ACCESS_TOKEN_TTL: '3600' })

/** Whether the suite runs with access control (CI runs it once with `AUTH=off`). */
export const AUTH_ON = SUITE_CONFIG.auth

export const BODY_LIMIT = SUITE_CONFIG.bodyLimit

const testLogger = () => createLogger('debug', { write: (line: string) => void logLines.push(JSON.parse(line)) })

export const buildApp = (sql: Sql, config: Partial<Config> = {}, state?: ServiceState) =>
  createApp({ config: { ...SUITE_CONFIG, ...config }, sql, logger: testLogger(), state })

let suiteApp: App | undefined
let suiteAdmin: Promise<Awaited<ReturnType<typeof createAccount>>> | undefined

/** A password that passes the service's rules, different each call. */
export const strongPassword = () => `violet ${crypto.randomUUID().slice(0, 8)} harbour lantern`

/**
 * Makes an account straight in the database (the service's hashing, without its queue) and logs
 * in through `POST /auth/token`; undefined token without access control.
 */
export const createAccount = async (role: 'user' | 'admin' = 'user', password = strongPassword()) =>
  accountIn((await testDatabase()).sql, await testApp(), role, password)

/** `createAccount` on another database and app. */
export const accountIn = async (sql: Sql, app: Target, role: 'user' | 'admin' = 'user', password = strongPassword()) => {
  const tag = unique()
  const email = `${role}-${tag}@example.com`
  const hash = await Bun.password.hash(password.normalize('NFKC'), { algorithm: 'argon2id' })
  const [row] = await sql<{ id: string }[]>`
    insert into users (name, email, age, role, password_hash) values (${`${role} ${tag}`}, ${email}, 30, ${role}, ${hash}) returning id`
  const id = Number(row!.id)
  if (!AUTH_ON) return { id, email, password, token: undefined }
  const reply = await app.handle(
    new Request('http://localhost/auth/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) }),
  )
  if (reply.status !== 200) throw new Error(`login gave ${reply.status}: ${await reply.text()}`)
  const { access_token, refresh_token } = (await reply.json()) as { access_token: string; refresh_token: string }
  return { id, email, password, token: access_token, refreshToken: refresh_token }
}

const STATIC_SECRET = 'a fixed test key, at least thirty-two bytes long'
/** Settings with a configured key, for apps whose database is unreachable (a generated key lives there). */
export const STATIC_KEY_CONFIG = { authSecrets: [STATIC_SECRET] }
/** An admin token (user 1) signed with `STATIC_KEY_CONFIG`'s key. */
export const staticKeyToken = () =>
  createTokens(() => loadSigningKeys(undefined as never, [STATIC_SECRET]), { accessTokenTtl: 600 }).sign({ id: 1, role: 'admin', ver: 1 })

/** The ids of the admins the suite made for itself (a test that removed one gets another). */
export const suiteAdminIds = new Set<number>()

/** The token of the suite's admin, made once per run (and again if a test removed it). */
export const suiteAdminToken = async () => {
  const admin = await (suiteAdmin ??= createAccount('admin'))
  suiteAdminIds.add(admin.id)
  return admin.token
}

/**
 * Whether a test deleted the suite's admin or changed its role or password (fuzzing sends
 * `DELETE /users/1`, and so on): then the next `suiteAdminToken()` makes a new one.
 */
const suiteAdminGone = async () => {
  const admin = await suiteAdmin
  if (!AUTH_ON || !admin) return false
  const [row] = await (await testDatabase()).sql`select 1 from users where id = ${admin.id} and role = 'admin' and token_version = 1`
  if (row) return false
  suiteAdmin = undefined
  return true
}

/**
 * `send` with the suite admin's token; a 401 because a test removed that admin (see
 * `suiteAdminGone`) is sent once more with a new admin's token. Any other 401 stands.
 */
const asSuiteAdmin = async <R extends { response: Response }>(send: (token: string | undefined) => Promise<R>): Promise<R> => {
  const first = await send(await suiteAdminToken())
  if (first.response.status !== 401 || !(await suiteAdminGone())) return first
  return send(await suiteAdminToken())
}

/** The app on the suite's database. */
const testApp = async () => (suiteApp ??= buildApp((await testDatabase()).sql))

export interface Reply {
  status: number
  headers: Headers
  text: string
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  body: any
}

export interface CallOptions {
  /**
   * The bearer token to send: by default the suite admin's (see `./accounts`), so tests of other
   * rules act as an admin; `null` sends none. An `Authorization` in `headers` wins.
   */
  token?: string | null
  /** Sent as JSON with `Content-Type: application/json`. */
  json?: unknown
  /** Sent as is. */
  body?: RequestInit['body']
  headers?: Record<string, string>
}

type Target = { handle(request: Request): Promise<Response> }

const loadDocument = (app: Target) => () => app.handle(new Request('http://localhost/openapi.json'))

/**
 * `request` through `app.handle`, the response checked against the OpenAPI document the app
 * serves: one it does not describe fails the test. The response is returned unread, with its text.
 */
const handleChecked = async (app: Target, request: Request) => {
  const response = await app.handle(request)
  const text = await expectDocumented(request, response, loadDocument(app))
  return { response, text }
}

/**
 * One request through `app.handle` (the suite's app unless `target` is given), as a client would send
 * it, for the tests that send what a typed client cannot (broken bodies, odd paths, raw headers).
 * The response is checked against the OpenAPI document.
 */
export const call = async (method: string, path: string, options: CallOptions = {}, target?: Target): Promise<Reply> => {
  const app = target ?? (await testApp())
  const send = (token: string | null | undefined) => {
    const headers = new Headers(options.headers)
    if (token && !headers.has('authorization')) headers.set('authorization', `Bearer ${token}`)
    let body = options.body
    if (options.json !== undefined) {
      body = JSON.stringify(options.json)
      if (!headers.has('content-type')) headers.set('content-type', 'application/json')
    }
    return handleChecked(app, new Request(`http://localhost${path}`, { method, headers, body }))
  }
  const asAdmin = options.token === undefined && !new Headers(options.headers).has('authorization')
  const { response, text } = asAdmin ? await asSuiteAdmin(send) : await send(options.token)
  let parsed: unknown
  try {
    parsed = text === '' ? undefined : JSON.parse(text)
  } catch {
    parsed = undefined
  }
  return { status: response.status, headers: response.headers, text, body: parsed }
}

/** `request` through the suite's app (with the suite admin's token unless it has one), its response checked against the document like `call`'s. */
export const handleRequest = async (request: Request): Promise<Response> => {
  const token = await suiteAdminToken()
  if (token && !request.headers.has('authorization')) request.headers.set('authorization', `Bearer ${token}`)
  return (await handleChecked(await testApp(), request)).response
}

/** The contract of the suite's app. */
export const testContract = async () => loadContract(loadDocument(await testApp()))

// Eden Treaty reads the body it is handed; the raw text stays here for the tests that assert it.
const rawTexts = new WeakMap<Response, string>()

/**
 * The suite's app through Eden Treaty, typed by the routes of `App`: a route whose types drift
 * fails the type check of the tests that use it. Each response is checked against the OpenAPI
 * document like `call`'s. Timestamps stay the strings the API sends (no `Date` parsing).
 */
export const api = treaty<App>('http://localhost', {
  parseDate: false,
  // Treaty would turn what the fetcher throws (a response off the document) into a reply with
  // status 503; it must fail the test instead.
  throwHttpError: (error) => error.value instanceof Error,
  // Treaty asks for Bun's `fetch`, `preconnect` included, but only calls it with a URL string.
  fetcher: (async (url: string, init?: RequestInit) => {
    const app = await testApp()
    const { response, text } = await asSuiteAdmin((token) => {
      const request = new Request(url, init)
      if (token && !request.headers.has('authorization')) request.headers.set('authorization', `Bearer ${token}`)
      return handleChecked(app, request)
    })
    rawTexts.set(response, text)
    return response
  }) as typeof fetch,
})

/** The body of a response `api` received, as the text it was sent as. */
export const rawText = (response: Response) => {
  const text = rawTexts.get(response)
  if (text === undefined) throw new Error('not a response api received')
  return text
}

/** A suffix that makes names and emails of one test its own, so tests need no clean-up. */
export const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`

/** A valid new user, unique to this test; `overrides` may make it invalid on purpose. */
export const newUser = <Overrides extends Record<string, unknown> = {}>(overrides?: Overrides) => {
  const tag = unique()
  return { name: `User ${tag}`, email: `user-${tag}@example.com`, age: 30, ...overrides }
}

/** Creates a user through `api` and returns it, failing the test if that does not give 201. */
export const createUser = async (overrides: Partial<CreateUserInput> = {}): Promise<User> => {
  const reply = await api.users.post(newUser(overrides))
  if (reply.status !== 201 || reply.error) throw new Error(`create gave ${reply.status}: ${rawText(reply.response)}`)
  return reply.data
}

export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/** Checks the headers every problem response carries and returns its body. */
export const expectProblem = (reply: Reply, status: number): ReturnType<Problem['toJSON']> => {
  if (reply.status !== status) throw new Error(`expected ${status}, got ${reply.status}: ${reply.text}`)
  if (reply.headers.get('content-type') !== 'application/problem+json')
    throw new Error(`expected problem+json, got ${reply.headers.get('content-type')}`)
  if (!reply.headers.get('x-request-id')) throw new Error('missing X-Request-Id')
  const body = reply.body
  if (body?.type !== 'about:blank' || body.status !== status || typeof body.title !== 'string' || typeof body.detail !== 'string')
    throw new Error(`not a problem body: ${reply.text}`)
  return body
}
