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
import type { Table } from './report'
import type { Scenario } from './scenarios'

export const BENCH_ADMIN = { ADMIN_EMAIL: 'bench-admin@example.com', ADMIN_PASSWORD: 'bench harbour lantern violet 2026' }
const USER_PASSWORD = 'quiet orchard lamp under snow 77'

interface AccessDeps {
  /** A service on the bench database, with (`true`) or without access control, `workers` workers. */
  startService(access: boolean): Promise<Server>
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

export const accessBench = async ({ startService, sampleMemory, users, load, rounds, log }: AccessDeps): Promise<{ tables: Table[]; data: unknown }> => {
  const secured = await startService(true)
  const open = await startService(false)
  try {
    const adminToken = await logIn(secured.url, BENCH_ADMIN.ADMIN_EMAIL, BENCH_ADMIN.ADMIN_PASSWORD)
    const email = `bench-user-${Date.now().toString(36)}@example.com`
    const self = await post(`${secured.url}/users`, { name: 'Bench Self', email, age: 40, password: USER_PASSWORD }, adminToken)
    const userToken = await logIn(secured.url, email, USER_PASSWORD)
    const pairs: [string, Scenario, Scenario][] = [
      [
        'GET /users/{random id}: an admin',
        { name: 'admin', next: () => ({ method: 'GET', path: `/users/${randomId(users)}`, headers: { authorization: `Bearer ${adminToken}` } }) },
        { name: 'open', next: () => ({ method: 'GET', path: `/users/${randomId(users)}` }) },
      ],
      [
        'GET /users/{own id}: a user themself',
        { name: 'self', next: () => ({ method: 'GET', path: `/users/${self.id}`, headers: { authorization: `Bearer ${userToken}` } }) },
        { name: 'open', next: () => ({ method: 'GET', path: `/users/${self.id}` }) },
      ],
    ]
    const rows: (string | number)[][] = []
    const figures: Record<string, { secured: LoadResult[]; open: LoadResult[] }> = {}
    for (const [name, withAuth, without] of pairs) {
      log(`  access: ${name}`)
      await measure(secured.url, withAuth, { ...load, duration: load.warmup, warmup: 0 })
      await measure(open.url, without, { ...load, duration: load.warmup, warmup: 0 })
      const runs = { secured: [] as LoadResult[], open: [] as LoadResult[] }
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? (['secured', 'open'] as const) : (['open', 'secured'] as const)
        for (const which of order) runs[which].push(await measure(which === 'secured' ? secured.url : open.url, which === 'secured' ? withAuth : without, { ...load, warmup: 0 }))
      }
      figures[name] = runs
      const rps = (results: LoadResult[]) => median(results.map((result) => result.rps))
      const ratios = runs.secured.map((result, i) => result.rps / runs.open[i]!.rps)
      rows.push([name, Math.round(rps(runs.secured)), Math.round(rps(runs.open)), `${median(ratios).toFixed(2)}×`,
        median(runs.secured.map((result) => result.p99)), median(runs.open.map((result) => result.p99)),
        runs.secured.reduce((sum, result) => sum + result.errors + result.non2xx, 0)])
    }

    // 200 logins at once, on their own connections, while a probe asks GET / every 50 ms.
    log('  access: 200 concurrent logins')
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
    const burst = await autocannon({
      url: `${secured.url}/auth/token`,
      connections: 200,
      amount: 200,
      timeout: 30,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: USER_PASSWORD }),
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
      title: `Access control: authenticated reads against AUTH=off (median of ${rounds} alternating rounds, ${load.connections} connections, 1 worker)`,
      header: ['call', 'AUTH=on req/s', 'AUTH=off req/s', 'median ratio', 'p99 ms on', 'p99 ms off', 'errors/non-2xx on'],
      rows,
      notes: ['The token is verified in the process (HS256); the caller’s `sub` and `ver` are checked inside the statement that reads the user, so no query is added.'],
    }
    return { tables: [accessTable, loginTable], data: { figures, login: { burst: { p50: burst.latency.p50, p99: burst.latency.p99, statuses }, idleRss, peakWorkerMb, probe } } }
  } finally {
    await secured.stop()
    await open.stop()
  }
}
