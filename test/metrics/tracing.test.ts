import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { createServerDatabase, serverPrepare, serverUrl } from '../support/database'
import { startService, underTest, waitReady, type Service } from '../support/process'
import { rawRequest } from '../support/raw-http'

// A small OTLP/HTTP receiver (JSON) of the test's own, and the service exporting its traces to it.
setDefaultTimeout(60_000)

interface OtlpValue {
  stringValue?: string
  intValue?: number | string
}
interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  status?: { code?: number }
  attributes: { key: string; value: OtlpValue }[]
}
interface OtlpExport {
  resourceSpans: { resource: { attributes: { key: string; value: OtlpValue }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[]
}

const exports: { contentType: string | null; body: OtlpExport }[] = []
const receiver = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  async fetch(request) {
    if (request.method !== 'POST' || new URL(request.url).pathname !== '/v1/traces') return new Response('not found', { status: 404 })
    exports.push({ contentType: request.headers.get('content-type'), body: (await request.json()) as OtlpExport })
    return Response.json({})
  },
})
const spans = () => exports.flatMap(({ body }) => body.resourceSpans.flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans)))
const attributes = (span: OtlpSpan) =>
  Object.fromEntries(span.attributes.map(({ key, value }) => [key, value.stringValue ?? (value.intValue === undefined ? undefined : Number(value.intValue))]))
const spansOf = async (traceId: string, count: number) => {
  for (let i = 0; i < 200 && spans().filter((span) => span.traceId === traceId).length < count; i++) await Bun.sleep(25)
  return spans().filter((span) => span.traceId === traceId)
}

const dataDir = mkdtempSync(join(tmpdir(), 'users-api-tracing-'))
let service: Service
let dropDatabase = async () => {}
let databaseUrl: string | undefined

beforeAll(async () => {
  const created = serverUrl ? await createServerDatabase(serverUrl, 'tracing') : undefined
  if (created) [dropDatabase, databaseUrl] = [created.drop, created.url]
  service = await startService({
    ...(created ? { DATABASE_URL: created.url, DATABASE_PREPARE: String(serverPrepare) } : { DATABASE_URL: undefined, DATA_DIR: dataDir }),
    // On a server, two workers: each exports its own requests' spans.
    WORKERS: serverUrl ? '2' : '1',
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'users-api-under-test',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    // A locked table answers 503 soon (the last test).
    REQUEST_TIMEOUT: '2000',
    // What is traced, not who may ask: access control has its own suites.
    AUTH: 'off',
  })
  await waitReady(service.url)
})

afterAll(async () => {
  await service?.stop()
  await dropDatabase()
  receiver.stop(true)
  rmSync(dataDir, { recursive: true, force: true })
})

const hex = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex')
const requestLine = (requestId: string) => service.lines.map((line) => JSON.parse(line)).find((event) => event.message === 'request' && event.request_id === requestId)
// The log goes out in batches (every 20 ms): a line may come after the spans, on a busy machine.
const awaitRequestLine = async (requestId: string) => {
  let line = requestLine(requestId)
  for (let tries = 0; tries < 100 && line === undefined; tries++, line = requestLine(requestId)) await Bun.sleep(20)
  return line
}

describe(`traces of ${underTest}`, () => {
  test('an incoming traceparent is continued: the request span, its query spans, and the log line carry its trace id', async () => {
    const created = await fetch(`${service.url}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Traced', email: 'traced@example.com', age: 33 }),
    })
    expect(created.status).toBe(201)
    const { id } = (await created.json()) as { id: number }
    const traceId = hex(16)
    const parentId = hex(8)
    const reply = await fetch(`${service.url}/users/${id}`, { headers: { traceparent: `00-${traceId}-${parentId}-01`, 'x-request-id': 'traced-1' } })
    expect(reply.status).toBe(200)

    const found = await spansOf(traceId, 2)
    expect(found.map((span) => span.name).sort()).toEqual(['GET /users/:id', 'SELECT'])
    const server = found.find((span) => span.name === 'GET /users/:id')!
    const query = found.find((span) => span.name === 'SELECT')!
    expect(server.parentSpanId).toBe(parentId)
    expect(server.kind).toBe(2) // SERVER
    expect(attributes(server)).toEqual({
      'http.request.method': 'GET',
      'url.path': `/users/${id}`,
      'url.scheme': 'http',
      'http.route': '/users/:id',
      'http.response.status_code': 200,
    })
    expect(query.parentSpanId).toBe(server.spanId)
    expect(query.kind).toBe(3) // CLIENT
    // Exactly these: no statement text, no parameter value.
    expect(attributes(query)).toEqual({ 'db.system.name': 'postgresql', 'db.operation.name': 'SELECT' })

    const exported = exports.find(({ body }) => JSON.stringify(body).includes(traceId))!
    expect(exported.contentType).toBe('application/json')
    const resource = Object.fromEntries(exported.body.resourceSpans[0]!.resource.attributes.map(({ key, value }) => [key, value.stringValue]))
    expect(resource['service.name']).toBe('users-api-under-test')

    expect(await awaitRequestLine('traced-1')).toMatchObject({ route: '/users/:id', status: 200, trace_id: traceId, span_id: server.spanId })
  })

  test('a caller that did not sample its trace is followed (the default sampler is parent-based); the log line still links', async () => {
    const unsampled = hex(16)
    const reply = await fetch(`${service.url}/`, { headers: { traceparent: `00-${unsampled}-${hex(8)}-00`, 'x-request-id': 'traced-unsampled' } })
    expect(reply.status).toBe(200)
    // A sampled request after it: once its span has arrived, the earlier one would have too.
    const sampled = hex(16)
    expect((await fetch(`${service.url}/`, { headers: { traceparent: `00-${sampled}-${hex(8)}-01` } })).status).toBe(200)
    expect(await spansOf(sampled, 1)).toHaveLength(1)
    expect(spans().filter((span) => span.traceId === unsampled)).toEqual([])
    expect(await awaitRequestLine('traced-unsampled')).toMatchObject({ route: '/', status: 200, trace_id: unsampled })
  })

  test('without a traceparent a new trace starts; an unmatched path is a span named by its method alone', async () => {
    const reply = await fetch(`${service.url}/no/such/thing`, { headers: { 'x-request-id': 'traced-2' } })
    expect(reply.status).toBe(404)
    const line = await awaitRequestLine('traced-2')
    expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/)
    const [span] = await spansOf(line.trace_id, 1)
    expect(span!.name).toBe('GET')
    expect(span!.spanId).toBe(line.span_id)
    expect(span!.parentSpanId).toBeUndefined()
    expect(attributes(span!)['http.response.status_code']).toBe(404)
  })

  // The span's path was read from a parsed URL: a request without a (sane) Host threw there, before
  // the app's own error handling, and Bun answered with its development error page (a 500).
  test('a request without a Host, or with a broken one, is traced and answered like any other', async () => {
    const port = new URL(service.url).port
    for (const [head, id] of [
      ['GET /no/such/thing HTTP/1.0\r\nX-Request-Id: traced-4\r\n', 'traced-4'],
      ['GET /no/such/thing HTTP/1.1\r\nHost: a b\r\nX-Request-Id: traced-5\r\nConnection: close\r\n', 'traced-5'],
    ]) {
      const reply = await rawRequest(Number(port), `${head}\r\n`)
      expect(reply).toStartWith('HTTP/1.1 404 ')
      expect(reply).toEndWith('{"type":"about:blank","title":"Not Found","status":404,"detail":"No such resource"}')
      const line = await awaitRequestLine(id!)
      const [span] = await spansOf(line.trace_id, 1)
      expect(attributes(span!)).toMatchObject({ 'url.path': '/no/such/thing', 'url.scheme': 'http', 'http.response.status_code': 404 })
    }
  })

  test('a method HTTP does not name is `_OTHER`, in a span named `HTTP` and the route (the path is served, not that method); the original is kept apart', async () => {
    const reply = await fetch(`${service.url}/users`, { method: 'PURGE', headers: { 'x-request-id': 'traced-3' } })
    expect(reply.status).toBe(405)
    const line = await awaitRequestLine('traced-3')
    const [span] = await spansOf(line.trace_id, 1)
    expect(span!.name).toBe('HTTP /users')
    expect(attributes(span!)).toMatchObject({ 'http.request.method': '_OTHER', 'http.request.method_original': 'PURGE', 'http.route': '/users', 'http.response.status_code': 405 })
    expect(attributes(span!)['error.type']).toBeUndefined()
  })

  // Locking a table needs a second session: on a server only.
  test.skipIf(!serverUrl)('a 503 (the users table locked past the deadline): the request span and its query spans are errors', async () => {
    const admin = postgres(databaseUrl!, { max: 1, onnotice: () => {} })
    const locker = await admin.reserve()
    const traceId = hex(16)
    let reply: Response
    try {
      await locker`begin`
      await locker`lock table users in access exclusive mode`
      reply = await fetch(`${service.url}/users/1`, { headers: { traceparent: `00-${traceId}-${hex(8)}-01` } })
    } finally {
      await locker`rollback`
      locker.release()
      await admin.end({ timeout: 5 })
    }
    expect(reply.status).toBe(503)
    const found = await spansOf(traceId, 2)
    const server = found.find((span) => span.name === 'GET /users/:id')!
    expect(attributes(server)).toMatchObject({ 'http.route': '/users/:id', 'http.response.status_code': 503, 'error.type': '503' })
    // OTLP's STATUS_CODE_ERROR.
    expect(server.status?.code).toBe(2)
    const queries = found.filter((span) => span.parentSpanId === server.spanId)
    expect(queries.length).toBeGreaterThanOrEqual(1)
    for (const query of queries) {
      expect(query.name).toBe('SELECT')
      expect(query.status?.code).toBe(2)
      expect(typeof attributes(query)['error.type']).toBe('string')
    }
  })
})
