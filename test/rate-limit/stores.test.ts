import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { RedisClient } from 'bun'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../src/free-port'
import { rateLimit } from '../../src/http/rate-limit'
import { groupTotals, groupWorkerStore, reportBatch, type RateLimitReport } from '../../src/rate-limit/group'
import { redisStore } from '../../src/rate-limit/redis'
import { localStore, type RateLimitStore, type Verdict } from '../../src/rate-limit/window'
import { appWithProblems, captureLog, send } from '../http/support'

setDefaultTimeout(30_000)

// The Redis tests start Redis servers of their own (Debian's redis-server), skipped without one.
const hasRedis = Bun.which('redis-server') !== null
const redisDir = mkdtempSync(join(tmpdir(), 'users-api-redis-'))
afterAll(() => rmSync(redisDir, { recursive: true, force: true }))

/** Resolves once something accepts connections on `port`. */
const listening = async (port: number) => {
  for (let i = 0; i < 200; i++) {
    const open = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data() {} } }).then(
      (socket) => (socket.end(), true),
      () => false,
    )
    if (open) return
    await Bun.sleep(25)
  }
  throw new Error(`nothing listens on ${port}`)
}

/** A Redis server on a free port, keeping nothing on disk; resolves once it accepts connections. */
const startRedis = async (port = freePort()) => {
  const server = Bun.spawn(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', redisDir], {
    stdout: 'ignore',
    stderr: 'ignore',
  })
  await listening(port)
  return { url: `redis://127.0.0.1:${port}`, port, server }
}
const WINDOW = { windowSeconds: 3600 }

/** An app behind `rateLimit` with `store`, serving GET /. */
const appWith = (limit: number, store: Parameters<typeof rateLimit>[0]['store']) =>
  appWithProblems()
    .use(rateLimit({ limit, ...WINDOW, store }))
    .get('/', () => ({ ok: true }))

/**
 * Two workers and their primary, wired together in this process as IPC wires them: at once, or
 * (`latencyMs`) each message delivered later, as between processes.
 */
const processGroup = (limit: number, batch: number, latencyMs?: number) => {
  const addUp = groupTotals()
  const workers: ReturnType<typeof groupWorkerStore>[] = []
  const later = (deliver: () => void) => (latencyMs === undefined ? deliver() : void setTimeout(deliver, latencyMs))
  const deliver = (report: RateLimitReport) =>
    later(() => {
      const total = addUp(report)
      if (total) for (const worker of workers) later(() => worker.receive(total))
    })
  for (let index = 0; index < 2; index++) workers.push(groupWorkerStore({ limit, ...WINDOW, batch, worker: index + 1, workers: 2 }, deliver))
  return workers
}
const allowed = (verdict: Verdict | Promise<Verdict>) => (verdict as Verdict).allowed

describe('rate limit stores', () => {
  test('the report batch is a tenth of a worker share, at least 1', () => {
    expect([reportBatch(100, 2), reportBatch(40, 2), reportBatch(5, 4), reportBatch(1_000, 1)]).toEqual([5, 2, 1, 100])
  })

  test('a process group: a client gets at least the limit through and at most limit + workers × batch', () => {
    for (const [limit, batch] of [
      [20, 2],
      [20, 1],
      [7, 3],
    ] as const) {
      const [a, b] = processGroup(limit, batch)
      let passed = 0
      for (let i = 0; i < 3 * limit; i++) if (allowed((i % 3 === 0 ? b! : a!).hit('203.0.113.9'))) passed++
      expect(passed).toBeGreaterThanOrEqual(limit)
      expect(passed).toBeLessThanOrEqual(limit + 2 * batch)
      // Once the primary has seen the limit reached, both workers refuse.
      expect([allowed(a!.hit('203.0.113.9')), allowed(b!.hit('203.0.113.9'))]).toEqual([false, false])
      // Another client is counted apart.
      expect(a!.hit('203.0.113.10')).toMatchObject({ allowed: true, remaining: limit - 1 })
    }
  })

  test('counting alone, each worker would let the limit through on its own: the group does not', () => {
    const apart = [localStore({ limit: 10, ...WINDOW }), localStore({ limit: 10, ...WINDOW })]
    const together = processGroup(10, 1)
    const count = (stores: RateLimitStore[]) => Array.from({ length: 40 }, (_, i) => allowed(stores[i % 2]!.hit('c'))).filter(Boolean).length
    expect(count(apart)).toBe(20)
    expect(count(together)).toBeLessThanOrEqual(12)
  })

  test('a burst faster than the messages between the processes: still at most limit + workers × batch, and at least the limit', async () => {
    for (const [limit, batch, latencyMs] of [
      [100, 5, 1],
      [5, 1, 1],
      // Slower than a request waits (100 ms): the workers go on alone, each within its share.
      [100, 5, 120],
    ] as const) {
      const [a, b] = processGroup(limit, batch, latencyMs)
      // All in one turn of the event loop, before any report has reached the primary.
      const verdicts = await Promise.all(Array.from({ length: 4 * limit }, (_, i) => (i % 2 === 0 ? a! : b!).hit('198.51.100.7')))
      const passed = verdicts.filter((verdict) => verdict.allowed).length
      expect(passed).toBeGreaterThanOrEqual(limit)
      expect(passed).toBeLessThanOrEqual(limit + 2 * batch)
    }
  })

  test('a request waiting when its window ends decides again in the new window at once (the primary will not answer it)', async () => {
    let clock = 3_600_000 - 10
    const reports: RateLimitReport[] = []
    const worker = groupWorkerStore({ limit: 10, ...WINDOW, batch: 1, worker: 1, workers: 2 }, (report) => void reports.push(report), () => clock)
    expect(allowed(worker.hit('c'))).toBe(true)
    const waiting = worker.hit('c')
    expect(waiting).toBeInstanceOf(Promise)
    clock += 20
    // Another client, in the new window, on the same worker: the waiting request is woken.
    expect(allowed(worker.hit('other'))).toBe(true)
    expect(await Promise.race([waiting, Bun.sleep(50).then(() => 'still waiting')])).toMatchObject({ allowed: true, remaining: 9 })
    // No answer was missing: the worker still waits for the primary, not deciding alone.
    expect(worker.hit('other')).toBeInstanceOf(Promise)
  })

  test('a primary that does not answer is waited for once: then each worker decides at once, within its share', async () => {
    const alone = groupWorkerStore({ limit: 10, ...WINDOW, batch: 2, worker: 1, workers: 2 }, () => {})
    expect([allowed(alone.hit('c')), allowed(alone.hit('c'))]).toEqual([true, true])
    // Two let through, reported, unanswered: the third waits (a promise), then goes on alone.
    const third = alone.hit('c')
    expect(third).toBeInstanceOf(Promise)
    expect((await third).allowed).toBe(true)
    const rest = Array.from({ length: 10 }, () => alone.hit('c'))
    expect(rest.some((verdict) => verdict instanceof Promise)).toBe(false)
    // Its share is 5 of the 10: two more, then refused.
    expect(rest.map(allowed)).toEqual([true, true, false, false, false, false, false, false, false, false])
  })

  test.skipIf(!hasRedis)('Redis: two instances share one limit exactly', async () => {
    const redis = await startRedis()
    const { lines, logger } = captureLog()
    const stores = [0, 1].map(() => redisStore({ limit: 5, ...WINDOW }, { url: redis.url, fallback: localStore({ limit: 5, ...WINDOW }), logger, timeoutMs: 2000 }))
    const apps = stores.map((store) => appWith(5, store))
    try {
      const statuses: number[] = []
      for (let i = 0; i < 12; i++) statuses.push((await send(apps[i % 2]!, '/')).status)
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429, 429, 429, 429, 429])
      const last = await send(apps[0]!, '/')
      expect(last.headers.get('ratelimit')).toMatch(/^"default";r=0;t=\d+$/)
      expect(lines).toEqual([])
    } finally {
      await Promise.all(stores.map((store) => store.close?.()))
      redis.server.kill('SIGKILL')
      await redis.server.exited
    }
  })

  test('Redis unreachable: the local limit applies, one warning is logged, never a 5xx', async () => {
    const { lines, logger } = captureLog()
    const store = redisStore({ limit: 3, ...WINDOW }, { url: `redis://127.0.0.1:${freePort()}`, fallback: localStore({ limit: 3, ...WINDOW }), logger })
    try {
      const statuses: number[] = []
      for (let i = 0; i < 5; i++) statuses.push((await send(appWith(3, store), '/')).status)
      expect(statuses).toEqual([200, 200, 200, 429, 429])
      const warnings = lines.filter((line) => line.level === 'warn')
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatchObject({ message: 'rate-limit store unavailable; limiting in this process group alone' })
    } finally {
      await store.close?.()
    }
  })

  test.skipIf(!hasRedis)('Redis going away mid-window: the local limit takes over with a warning; back again, Redis counts again', async () => {
    let redis = await startRedis()
    const { lines, logger } = captureLog()
    const store = redisStore({ limit: 4, ...WINDOW }, { url: redis.url, fallback: localStore({ limit: 100, ...WINDOW }), logger, timeoutMs: 2000 })
    const app = appWith(4, store)
    try {
      // Redis counts: the fifth request is over the limit of 4 (the fallback's 100 would allow it).
      const statuses: number[] = []
      for (let i = 0; i < 5; i++) statuses.push((await send(app, '/')).status)
      expect(statuses).toEqual([200, 200, 200, 200, 429])
      redis.server.kill('SIGKILL')
      await redis.server.exited
      // The fallback (here a limit of 100, to tell them apart) answers, without a 5xx.
      const during = await send(app, '/')
      expect(during.status).toBe(200)
      expect(lines.filter((line) => line.level === 'warn').map((line) => line.message)).toEqual(['rate-limit store unavailable; limiting in this process group alone'])
      redis = await startRedis(redis.port)
      // Without a request meanwhile: the probes run on their own.
      let back = false
      for (let i = 0; i < 100 && !back; i++) {
        await Bun.sleep(100)
        back = lines.some((line) => line.message === 'rate-limit store answers again')
      }
      expect(back).toBe(true)
      // Redis counts again, from zero in this new server: four more, then 429.
      const after: number[] = []
      for (let i = 0; i < 5; i++) after.push((await send(app, '/')).status)
      expect(after).toEqual([200, 200, 200, 200, 429])
    } finally {
      redis.server.kill('SIGKILL')
      await redis.server.exited
      await store.close?.()
    }
  })

  test.skipIf(!hasRedis)('Redis connected but not answering: one request finds out, the others do not ask it until it answers again', async () => {
    const redis = await startRedis()
    const { lines, logger } = captureLog()
    const store = redisStore({ limit: 100, ...WINDOW }, { url: redis.url, fallback: localStore({ limit: 100, ...WINDOW }), logger, timeoutMs: 100, keyPrefix: 'stall' })
    const admin = new RedisClient(redis.url)
    const counted = async () => Number(await admin.send('EVAL', ["local n = 0 for _, k in ipairs(redis.call('KEYS', 'stall:*')) do n = n + redis.call('GET', k) end return n", '0']))
    try {
      expect(await store.hit('c')).toMatchObject({ allowed: true, remaining: 99 })
      // Every command of every client waits for 1.5 s: the connection stays open.
      await admin.send('CLIENT', ['PAUSE', '1500', 'ALL'])
      for (let i = 0; i < 10; i++) expect((await store.hit('c')).allowed).toBe(true)
      expect(lines.map((line) => line.message)).toEqual(['rate-limit store unavailable; limiting in this process group alone'])
      await Bun.sleep(1700)
      // Only the request that found it stalled sent its increment; the other nine asked nothing.
      expect(await counted()).toBe(2)
      // A probe, sent each second without any request, ends it: the next request is counted by Redis.
      for (let i = 0; i < 50 && !lines.some((line) => line.message === 'rate-limit store answers again'); i++) await Bun.sleep(50)
      expect(lines.map((line) => line.message)).toEqual(['rate-limit store unavailable; limiting in this process group alone', 'rate-limit store answers again'])
      await store.hit('c')
      expect(await counted()).toBe(3)
    } finally {
      admin.close()
      redis.server.kill('SIGKILL')
      await redis.server.exited
      await store.close?.()
    }
  })

  // Closed with a request still in flight (a forced stop), or while Redis is away: no probe may
  // open a connection again, which would also keep the stopping process alive.
  test.skipIf(!hasRedis)('closed: no probe opens a connection again, when a request comes after or Redis comes back', async () => {
    const redis = await startRedis()
    const away = freePort()
    const { lines, logger } = captureLog()
    const options = { fallback: localStore({ limit: 3, ...WINDOW }), logger, timeoutMs: 100 }
    const healthy = redisStore({ limit: 3, ...WINDOW }, { url: redis.url, ...options })
    const unreachable = redisStore({ limit: 3, ...WINDOW }, { url: `redis://127.0.0.1:${away}`, ...options })
    const admin = new RedisClient(redis.url)
    let later: Awaited<ReturnType<typeof startRedis>> | undefined
    try {
      expect((await healthy.hit('c')).allowed).toBe(true)
      expect((await unreachable.hit('c')).allowed).toBe(true)
      await healthy.close?.()
      await unreachable.close?.()
      // Judged by the local limit, without a warning or a probe.
      expect((await healthy.hit('c')).allowed).toBe(true)
      later = await startRedis(away)
      await Bun.sleep(1500)
      const clientsOf = async (client: RedisClient) => String(await client.send('CLIENT', ['LIST'])).trim().split('\n').length
      expect(await clientsOf(admin)).toBe(1)
      const laterAdmin = new RedisClient(later.url)
      expect(await clientsOf(laterAdmin)).toBe(1)
      laterAdmin.close()
      expect(lines.map((line) => line.message)).toEqual(['rate-limit store unavailable; limiting in this process group alone'])
    } finally {
      admin.close()
      for (const server of [redis, later]) {
        server?.server.kill('SIGKILL')
        await server?.server.exited
      }
    }
  })
})

describe('rate limit windows', () => {
  test.skipIf(!hasRedis)('Redis: a new window starts every client from zero, at the clock\'s window edge', async () => {
    const redis = await startRedis()
    const { lines, logger } = captureLog()
    let clock = 7_200_000 - 1_000
    const store = redisStore({ limit: 2, windowSeconds: 3600 }, { url: redis.url, fallback: localStore({ limit: 100, windowSeconds: 3600 }), logger, timeoutMs: 2000, now: () => clock })
    try {
      expect(await store.hit('c')).toEqual({ allowed: true, remaining: 1, resetSeconds: 1 })
      expect(await store.hit('c')).toEqual({ allowed: true, remaining: 0, resetSeconds: 1 })
      expect(await store.hit('c')).toEqual({ allowed: false, remaining: 0, resetSeconds: 1 })
      clock += 1_000
      expect(await store.hit('c')).toEqual({ allowed: true, remaining: 1, resetSeconds: 3600 })
      expect(lines).toEqual([])
    } finally {
      await store.close?.()
      redis.server.kill('SIGKILL')
      await redis.server.exited
    }
  })

  test('the primary ignores a late report of an ended window: the current window\'s totals stand', () => {
    const addUp = groupTotals()
    const report = (index: number, count: number, worker: number, seq: number): RateLimitReport => ({ kind: 'rate-limit/report', index, client: 'c', count, worker, seq })
    expect(addUp(report(2, 3, 1, 1))).toEqual({ kind: 'rate-limit/total', index: 2, client: 'c', total: 3, worker: 1, seq: 1 })
    // Worker 2's report from window 1 arrives after window 2 began.
    expect(addUp(report(1, 5, 2, 1))).toBeUndefined()
    expect(addUp(report(2, 1, 2, 2))).toEqual({ kind: 'rate-limit/total', index: 2, client: 'c', total: 4, worker: 2, seq: 2 })
  })
})
