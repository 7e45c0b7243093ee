/**
 * `bun run bench --access`: what access control costs. Authenticated `GET /users/{id}` (an admin
 * reading a random user, and a user reading themself) against the same calls on a service with
 * `AUTH=off`, in alternating rounds; then a burst of concurrent logins, with the service's memory
 * and a probe that keeps asking `GET /` meanwhile.
 */
import autocannon from 'autocannon'
import { readFileSync } from 'node:fs'
import { measure, median, type LoadOptions, type LoadResult } from './load'
import type { Server } from './processes'
import { judged } from './goals'
import type { Table } from './report'
import type { Scenario } from './scenarios'

export const BENCH_ADMIN = { ADMIN_EMAIL: 'bench-admin@example.com', ADMIN_PASSWORD: 'bench harbour lantern violet 2026' }
const USER_PASSWORD = 'quiet orchard lamp under snow 77'
const LOGINS = 200
// Users made for the logins, a few at a time (each is a password hash; the queue holds 64).
const CREATE_BATCH = 8

interface AccessDeps {
  /** A service on the bench database, with (`true`) or without access control, `workers` workers. */
  startService(access: boolean): Promise<Server>
  /** The bare server (`Bun.serve` + postgres.js, no checks at all) on the same database. */
  startBaseline(): Promise<Server>
  sampleMemory(server: Server, everyMs?: number): { stop(): { peakWorkerMb: number; peakTotalMb: number } }
  users: number
  load: LoadOptions
  rounds: number
  log(line: string): void
}

const post = async (url: string, body: unknown, token?: string) => {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) })
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${await response.text()}`)
  return response.json() as Promise<Record<string, any>>
}

/** Logs in; retries for a while, as the first admin is created just after the migrations. */
const logIn = async (url: string, email: string, password: string): Promise<string> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await post(`${url}/auth/token`, { email, password })).access_token as string
    } catch (error) {
      if (attempt >= 4) throw error
      await Bun.sleep(1000)
    }
  }
}

const randomId = (users: number) => 1 + Math.floor(Math.random() * users)

const rssMbOf = (pid: number) => {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return match ? Number(match[1]) / 1024 : 0
}

export const accessBench = async ({ startService, startBaseline, sampleMemory, users, load, rounds, log }: AccessDeps): Promise<{ tables: Table[]; data: unknown }> => {
  // Whatever started is stopped, even when a later one fails to start.
  const started: Server[] = []
  const launch = async (server: Promise<Server>) => {
    started.push(await server)
    return started.at(-1)!
  }
  try {
    const secured = await launch(startService(true))
    const open = await launch(startService(false))
    const bare = await launch(startBaseline())
    const adminToken = await logIn(secured.url, BENCH_ADMIN.ADMIN_EMAIL, BENCH_ADMIN.ADMIN_PASSWORD)
    const email = `bench-user-${Date.now().toString(36)}@example.com`
    const self = await post(`${secured.url}/users`, { name: 'Bench Self', email, age: 40, password: USER_PASSWORD }, adminToken)
    const userToken = await logIn(secured.url, email, USER_PASSWORD)
    // Each call with a token against the same call, the same request to the byte, on a service with
    // `AUTH=off` (which ignores the header); an admin's also against the bare server. Only the
    // servers differ: the load generator shares their two cores.
    const pairs: [string, Scenario, boolean][] = [
      ['GET /users/{random id}: an admin', { name: 'admin', next: () => ({ method: 'GET', path: `/users/${randomId(users)}`, headers: { authorization: `Bearer ${adminToken}` } }) }, true],
      ['GET /users/{own id}: a user themself', { name: 'self', next: () => ({ method: 'GET', path: `/users/${self.id}`, headers: { authorization: `Bearer ${userToken}` } }) }, false],
    ]
    const rows: (string | number)[][] = []
    const figures: Record<string, Record<string, LoadResult[]>> = {}
    const ratios: Record<string, { open: number; bare?: number }> = {}
    const ratioTo = (runs: Record<string, LoadResult[]>, other: string) => median(runs.secured!.map((result, i) => result.rps / runs[other]![i]!.rps))
    const times = (ratio: number | undefined) => (ratio === undefined ? '–' : `${ratio.toFixed(2)}×`)
    for (const [name, call, againstBare] of pairs) {
      log(`  access: ${name}`)
      const servers: [string, string, Scenario][] = [['secured', secured.url, call], ['open', open.url, call]]
      if (againstBare) servers.push(['bare', bare.url, call])
      for (const [, url, scenario] of servers) await measure(url, scenario, { ...load, duration: load.warmup, warmup: 0 })
      const runs: Record<string, LoadResult[]> = Object.fromEntries(servers.map(([which]) => [which, []]))
      for (let round = 0; round < rounds; round++) {
        for (const [which, url, scenario] of round % 2 === 0 ? servers : servers.toReversed()) runs[which]!.push(await measure(url, scenario, { ...load, warmup: 0 }))
      }
      figures[name] = runs
      const rps = (results: LoadResult[]) => median(results.map((result) => result.rps))
      ratios[name] = { open: ratioTo(runs, 'open'), ...(againstBare ? { bare: ratioTo(runs, 'bare') } : {}) }
      rows.push([name, Math.round(rps(runs.secured!)), Math.round(rps(runs.open!)), times(ratios[name]!.open),
        runs.bare ? Math.round(rps(runs.bare)) : '–', times(ratios[name]!.bare),
        median(runs.secured!.map((result) => result.p99)), median(runs.open!.map((result) => result.p99)),
        runs.secured!.reduce((sum, result) => sum + result.errors + result.non2xx, 0)])
    }

    // 200 logins at once, of 200 users (one user's attempts in flight count as failures until
    // answered, so one email would be throttled after 5), on their own connections, while a probe
    // asks GET / every 50 ms.
    log('  access: 200 concurrent logins')
    const tag = Date.now().toString(36)
    const logins = Array.from({ length: LOGINS }, (_, i) => `bench-login-${tag}-${i}@example.com`)
    for (let start = 0; start < LOGINS; start += CREATE_BATCH) {
      await Promise.all(logins.slice(start, start + CREATE_BATCH).map((login, i) =>
        post(`${secured.url}/users`, { name: `Bench Login ${start + i}`, email: login, age: 40, password: USER_PASSWORD }, adminToken)))
    }
    await Bun.sleep(1000)
    const idleRss = rssMbOf(secured.pid)
    const memory = sampleMemory(secured, 100)
    const probe: number[] = []
    let probing = true
    const probeLoop = (async () => {
      while (probing) {
        const started = performance.now()
        const status = await fetch(`${secured.url}/`).then((response) => response.status, () => 0)
        probe.push(status === 200 ? performance.now() - started : Number.POSITIVE_INFINITY)
        await Bun.sleep(50)
      }
    })()
    let next = 0
    const burst = await autocannon({
      url: `${secured.url}/auth/token`,
      connections: LOGINS,
      amount: LOGINS,
      timeout: 30,
      requests: [{
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: JSON.stringify({ email: logins[next++ % LOGINS], password: USER_PASSWORD }) }),
      }],
    })
    probing = false
    await probeLoop
    const { peakWorkerMb } = memory.stop()
    const statuses = `2xx ${burst['2xx']}, 4xx ${burst['4xx']} (429: queue full), 5xx ${burst['5xx']}, errors ${burst.errors + burst.timeouts}`
    const probeSorted = [...probe].sort((a, b) => a - b)
    const loginTable: Table = {
      title: 'Logins: 200 at once (argon2id, HASH_CONCURRENCY=2, 64 may wait), one worker',
      header: ['answers', 'p50 ms', 'p99 ms', 'idle RSS MB', 'peak RSS MB', 'growth MB', 'bound MB (2 × 64 + 20 %)', 'GET / probe answered', 'probe max ms'],
      rows: [[statuses, burst.latency.p50, burst.latency.p99, Math.round(idleRss), Math.round(peakWorkerMb), Math.round(peakWorkerMb - idleRss),
        Math.round(2 * 64 * 1.2), `${probe.filter(Number.isFinite).length}/${probe.length}`, Math.round(probeSorted.filter(Number.isFinite).at(-1) ?? 0)]],
    }
    const accessTable: Table = {
      title: `Access control: authenticated reads against AUTH=off and the bare server (medians of ${rounds} alternating rounds, ${load.connections} connections, 1 worker)`,
      header: ['call', 'AUTH=on req/s', 'AUTH=off req/s', 'ratio to off', 'bare req/s', 'ratio to bare', 'p99 ms on', 'p99 ms off', 'errors/non-2xx on'],
      rows,
      notes: [
        'The token is verified in the process (HS256); the caller’s `sub` and `ver` are checked inside the statement that reads the user, so no query is added.',
        'Every server gets the same request, its `Authorization` header included (ignored without access control).',
      ],
    }
    const admin = ratios[pairs[0]![0]]!
    const growth = peakWorkerMb - idleRss
    const loginsHold = burst['5xx'] === 0 && burst.errors + burst.timeouts === 0 && growth <= 2 * 64 * 1.2 && probe.every(Number.isFinite)
    const goals: Table = {
      title: 'Goals (access)',
      header: ['goal', 'this run', 'holds'],
      rows: [
        judged('an admin’s `GET /users/{id}` with a token ≥ 0.9× the same call with `AUTH=off`', admin.open, 0.9),
        judged('the same ≥ 0.9× the bare server (which checks nothing), the same request', admin.bare, 0.9),
        ['200 logins at once: no 5xx, RSS growth ≤ 2 × 64 MiB + 20 %, `GET /` keeps answering', `5xx ${burst['5xx']}, growth ${Math.round(growth)} MB, probe ${probe.filter(Number.isFinite).length}/${probe.length}`, loginsHold ? '✓' : '✗'],
      ],
    }
    return { tables: [accessTable, loginTable, goals], data: { figures, login: { burst: { p50: burst.latency.p50, p99: burst.latency.p99, statuses }, idleRss, peakWorkerMb, probe } } }
  } finally {
    await Promise.all(started.map((server) => server.stop()))
  }
}
