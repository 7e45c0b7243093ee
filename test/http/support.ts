import { Elysia } from 'elysia'
import { routeTable } from '../../src/http/elysia-internals'
import { problemResponses } from '../../src/http/errors'
import { createLogger } from '../../src/logger'

/** A logger whose JSON lines land, parsed, in `lines`. */
export const captureLog = () => {
  const lines: Record<string, any>[] = []
  const logger = createLogger('debug', { write: (line: string) => void lines.push(JSON.parse(line)) })
  return { lines, logger }
}

/**
 * An app whose errors become problem responses, as the service's do; `.use()` the plugin under
 * test and add routes to it. `routes` reads the app as it ends up, so 405s see every route.
 */
export const appWithProblems = (logger = captureLog().logger, fields?: (request: Request) => Record<string, string> | undefined) => {
  const app = new Elysia()
  return app.use(problemResponses({ logger, routes: () => routeTable(app), fields }))
}

interface Reply {
  status: number
  headers: Headers
  text: string
  body: any
}

/** `path` through `app.handle`, the body read as text and, when it parses, as JSON. */
export const send = async (app: { handle(request: Request): Promise<Response> }, path: string, init?: RequestInit): Promise<Reply> => {
  const response = await app.handle(new Request(`http://localhost${path}`, init))
  const text = await response.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  return { status: response.status, headers: response.headers, text, body }
}

/** A JSON POST (or `method`) of `text` as it is, so broken JSON can be sent too. */
export const postJson = (text: RequestInit['body'], headers: Record<string, string> = {}, method = 'POST'): RequestInit => ({
  method,
  body: text,
  headers: { 'content-type': 'application/json', ...headers },
})

/** Resolves once `ready()` holds; fails after `ms`. For what is written after a response is sent. */
export const eventually = async (ready: () => boolean, ms = 2000) => {
  const deadline = performance.now() + ms
  while (!ready()) {
    if (performance.now() > deadline) throw new Error(`not within ${ms} ms`)
    await Bun.sleep(1)
  }
}
