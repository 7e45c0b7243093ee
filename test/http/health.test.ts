import { afterAll, describe, expect, test } from 'bun:test'
import postgres from 'postgres'
import { freePort } from '../../src/free-port'
import { health, requireMigrated, type ServiceState } from '../../src/http/health'
import { testDatabase } from '../support/database'
import { appWithProblems, send } from './support'

// A real client of a port nobody listens on: a database that is down.
const unreachable = postgres(`postgres://postgres@127.0.0.1:${freePort()}/none`, { max: 1, connect_timeout: 2, onnotice: () => {} })
// A server that accepts connections and never says a word: a database that hangs.
const silent = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
const hanging = postgres(`postgres://postgres@127.0.0.1:${silent.port}/none`, { max: 1, connect_timeout: 30, onnotice: () => {} })
afterAll(async () => {
  await Promise.all([unreachable.end({ timeout: 0 }), hanging.end({ timeout: 0 })])
  silent.stop(true)
})

const build = async (state: ServiceState, sql?: postgres.Sql, timeoutMs = 5000) =>
  appWithProblems()
    .use(health({ sql: sql ?? (await testDatabase()).sql, state, timeoutMs }))
    .get('/things', () => ({ things: [] }), { beforeHandle: requireMigrated(state) })

const notReady = (detail: string, database: 'down' | 'unknown') => ({ database, type: 'about:blank', title: 'Service Unavailable', status: 503, detail })

describe('health({ sql, state, timeoutMs })', () => {
  test('GET / is alive whatever the state and the database', async () => {
    const reply = await send(await build({ migrated: false, draining: true }, unreachable), '/')
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({ status: 'ok' })
  })

  test('GET /readyz on the real, migrated database: 200', async () => {
    const reply = await send(await build({ migrated: true, draining: false }), '/readyz')
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({ status: 'ok', database: 'ok' })
  })

  test('not migrated: 503, database down, Retry-After', async () => {
    const reply = await send(await build({ migrated: false, draining: false }), '/readyz')
    expect(reply.status).toBe(503)
    expect(reply.headers.get('retry-after')).toBe('5')
    expect(reply.headers.get('content-type')).toBe('application/problem+json')
    expect(reply.body).toEqual(notReady('The database is not ready yet', 'down'))
  })

  test('draining: 503, database unknown, even when also not migrated', async () => {
    for (const migrated of [true, false]) {
      const reply = await send(await build({ migrated, draining: true }), '/readyz')
      expect(reply.status).toBe(503)
      expect(reply.headers.get('retry-after')).toBe('5')
      expect(reply.body).toEqual(notReady('The service is shutting down', 'unknown'))
    }
  })

  test('the state is read on every request, not copied when the plugin is built', async () => {
    const state = { migrated: true, draining: false }
    const app = await build(state)
    expect((await send(app, '/readyz')).status).toBe(200)
    state.draining = true
    expect((await send(app, '/readyz')).body).toEqual(notReady('The service is shutting down', 'unknown'))
  })

  test('a database that refuses connections: 503, database down', async () => {
    const reply = await send(await build({ migrated: true, draining: false }, unreachable), '/readyz')
    expect(reply.status).toBe(503)
    expect(reply.headers.get('retry-after')).toBe('5')
    expect(reply.body).toEqual(notReady('The database cannot be reached', 'down'))
  })

  test('a database that hangs: 503 within timeoutMs, not the 2 s default', async () => {
    const app = await build({ migrated: true, draining: false }, hanging, 150)
    const started = performance.now()
    const reply = await send(app, '/readyz')
    const took = performance.now() - started
    expect(reply.status).toBe(503)
    expect(reply.body).toEqual(notReady('The database cannot be reached', 'down'))
    expect(took).toBeGreaterThanOrEqual(140)
    expect(took).toBeLessThan(1500)
  })
})

describe('requireMigrated(state)', () => {
  test('as a beforeHandle: 503 with Retry-After until migrated, then the route runs', async () => {
    const state = { migrated: false, draining: false }
    const app = await build(state)
    const refused = await send(app, '/things')
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('5')
    expect(refused.body).toEqual({
      type: 'about:blank',
      title: 'Service Unavailable',
      status: 503,
      detail: 'The database is not ready yet; try again shortly',
    })
    state.migrated = true
    const served = await send(app, '/things')
    expect(served.status).toBe(200)
    expect(served.body).toEqual({ things: [] })
  })
})
