#!/usr/bin/env bun
/**
 * `bun run bench`: the service against the bare stack (bench/baseline.ts) on this machine's
 * PostgreSQL, scenario by scenario, with 1 and 2 workers; what settings, metrics and tracing cost;
 * the embedded database as a development figure; start-up and reload; access control; the reads at
 * 1,000,000 users; each part's goals with ✓/✗. `--soak` runs the memory soak instead, and
 * `--access`, `--scale`, `--costs`, `--observability` one part alone. Talks to 127.0.0.1 only, in
 * a database of its own that it drops.
 * Tables go to the terminal and to bench/results/. `--help` lists the options.
 */
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os'
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { loadConfig } from '../src/config'
import { openDatabase } from '../src/db/connect'
import { migrate } from '../src/db/migrate'
import { freePort } from '../src/free-port'
import { judgeStartup, measureStartup } from './startup'
import { GOAL_SCENARIOS, goalsTable, judged, PAGE_SCENARIO, RATE_LIMIT_VARIANT } from './goals'
import { assertLocal, createBenchDatabase, DEFAULT_SERVER_URL, seedUsers } from './database'
import { combine, measure, median, type LoadOptions, type LoadResult } from './load'
import { sampleMemory, startServer, type Server } from './processes'
import { markdownTable, ratio, writeResults, type Table } from './report'
import { BENCH_ADMIN, accessBench } from './access'
import { scaleScenarios, scenarios, soakMix, type Scenario } from './scenarios'
import { explainReads, timeNameMiss } from './explain'
import { observabilityCost } from './observability'

const ROOT = join(import.meta.dir, '..')
const SEEDED_USERS = 10_000
const SCALED_USERS = 1_000_000

const OPTIONS = {
  connections: { type: 'string', default: '64' },
  duration: { type: 'string', default: '2' },
  rounds: { type: 'string', default: '6' },
  warmup: { type: 'string', default: '2' },
  workers: { type: 'string', default: '1,2' },
  pool: { type: 'string' },
  'log-level': { type: 'string', default: 'info' },
  only: { type: 'string' },
  soak: { type: 'boolean', default: false },
  'soak-seconds': { type: 'string', default: '300' },
  scale: { type: 'boolean', default: false },
  observability: { type: 'boolean', default: false },
  'no-observability': { type: 'boolean', default: false },
  access: { type: 'boolean', default: false },
  'no-access': { type: 'boolean', default: false },
  'no-scale': { type: 'boolean', default: false },
  'no-embedded': { type: 'boolean', default: false },
  'no-costs': { type: 'boolean', default: false },
  costs: { type: 'boolean', default: false },
  'no-cold-start': { type: 'boolean', default: false },
  binary: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const

// Keyed by the options themselves, so that a new option cannot be left out of --help.
const OPTION_HELP: Record<keyof typeof OPTIONS, string> = {
  connections: 'concurrent connections autocannon keeps open',
  duration: 'seconds of each measured round',
  rounds: 'rounds per scenario and server, in ABBA order',
  warmup: 'seconds of load before the rounds, not counted',
  workers: 'worker counts to compare, one table each',
  pool: 'DATABASE_POOL_MAX of service and baseline: the connections of all workers together (unset: 10)',
  'log-level': "the servers' LOG_LEVEL; warn leaves out the line per request",
  only: 'only the scenario of this name, or else those whose name contains this',
  soak: 'instead: constant load with memory sampled every second',
  'soak-seconds': 'how long the soak lasts',
  scale: 'instead: the reads on 10,000 and on 1,000,000 users, with their plans',
  observability: 'instead: only the cost of metrics and tracing on GET /users/{id}',
  'no-observability': 'leave out the cost of metrics and tracing',
  access: 'instead: authenticated reads against AUTH=off, and 200 concurrent logins',
  'no-access': 'leave out the access-control figures (authenticated reads, logins)',
  'no-scale': 'leave out the 1,000,000-user figures',
  'no-embedded': 'leave out the embedded-database figure',
  'no-costs': 'leave out what settings cost (RATE_LIMIT on against off)',
  costs: 'instead: only what settings cost (RATE_LIMIT on against off)',
  'no-cold-start': 'leave out building the binary and the start-up figures',
  binary: 'measure the service as shipped, the compiled binary (built first), instead of bun src/main.ts',
  help: 'this text',
}

const { values: args } = parseArgs({ options: OPTIONS })

if (args.help) {
  const lines = Object.entries(OPTIONS).map(([name, option]) => {
    const value = option.type === 'string' ? ` <${'default' in option ? option.default : 'value'}>` : ''
    return `  --${`${name}${value}`.padEnd(22)} ${OPTION_HELP[name as keyof typeof OPTIONS]}`
  })
  console.log(`bun run bench [options]: on the PostgreSQL in DATABASE_URL (127.0.0.1 only; unset: ${DEFAULT_SERVER_URL})\n${lines.join('\n')}`)
  process.exit(0)
}

const load: LoadOptions = { connections: Number(args.connections), duration: Number(args.duration), warmup: Number(args.warmup) }
const ROUNDS = Number(args.rounds)
const serverUrl = process.env.DATABASE_URL || DEFAULT_SERVER_URL
assertLocal(serverUrl)
const log = (line: string) => console.log(line)

/** The environment of a server process: nothing inherited but PATH, so results do not depend on a .env. */
const serverEnvironment = (variables: Record<string, string>) => ({
  PATH: process.env.PATH ?? '',
  NODE_ENV: 'production',
  HOST: '127.0.0.1',
  // The service as shipped logs a line per request; `--log-level warn` shows what that costs.
  LOG_LEVEL: args['log-level']!,
  ...(args.pool ? { DATABASE_POOL_MAX: args.pool } : {}),
  ...variables,
})

// As shipped, metrics on: on a port of their own (the default, 9464, may be taken on a shared machine).
// `AUTH=off` unless `variables` say otherwise (`accessOn`): the baseline has no access control either.
const startService = (databaseUrl: string | undefined, workers: number, dataDir?: string, variables: Record<string, string> = {}) => {
  const env = serverEnvironment({
    PORT: String(freePort()),
    WORKERS: String(workers),
    METRICS_PORT: String(freePort()),
    AUTH: 'off',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { DATA_DIR: dataDir! }),
    ...variables,
  })
  // Checked as the service checks it, so a bad --pool or --log-level stops here, not in a worker.
  loadConfig(env)
  return startServer('service', args.binary ? [BINARY] : [process.execPath, join(ROOT, 'src/main.ts')], env, workers)
}

const startBaseline = (databaseUrl: string, workers: number, { timestamps = true, name }: { timestamps?: boolean; name?: string } = {}) =>
  startServer(
    name ?? (timestamps ? 'baseline' : 'untimed'),
    [process.execPath, join(import.meta.dir, 'baseline.ts')],
    serverEnvironment({ PORT: String(freePort()), WORKERS: String(workers), DATABASE_URL: databaseUrl, BASELINE_TIMESTAMPS: timestamps ? 'on' : 'off' }),
    workers,
  )

interface Measured extends LoadResult {
  peakRssWorkerMb: number
  peakRssTotalMb: number
}

/** One measured run (no warm-up) with the server's memory sampled throughout. */
const measureWithMemory = async (server: Server, scenario: Scenario, options: LoadOptions = { ...load, warmup: 0 }): Promise<Measured> => {
  const memory = sampleMemory(server)
  const result = await measure(server.url, scenario, options)
  const { peakWorkerMb, peakTotalMb } = memory.stop()
  return { ...result, peakRssWorkerMb: peakWorkerMb, peakRssTotalMb: peakTotalMb }
}

// A name matched exactly wins: `--only 'GET /'` is that scenario, not every GET.
const selected = (all: Scenario[]) => {
  if (!args.only) return all
  const exact = all.filter((scenario) => scenario.name === args.only)
  return exact.length > 0 ? exact : all.filter((scenario) => scenario.name.includes(args.only!))
}

const machine = async (databaseUrl: string) => {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
  const [{ version }] = (await sql`select version()`) as unknown as [{ version: string }]
  const [{ max_connections }] = (await sql`show max_connections`) as unknown as [{ max_connections: string }]
  await sql.end({ timeout: 5 })
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memory_gb: Math.round(totalmem() / 2 ** 30),
    bun: Bun.version,
    postgres: version.split(',')[0],
    postgres_max_connections: Number(max_connections),
  }
}

const describeMachine = (facts: Awaited<ReturnType<typeof machine>>) =>
  `${facts.cores} cores (${facts.cpu}), ${facts.memory_gb} GB, Bun ${facts.bun}, ${facts.postgres} on 127.0.0.1; load from autocannon in the benchmark's own process on the same cores`

const resultRow = (name: string, service: Measured, baseline?: Measured) => [
  name,
  Math.round(service.rps),
  baseline ? Math.round(baseline.rps) : '–',
  ratio(service.rps, baseline?.rps),
  service.p50,
  service.p99,
  baseline ? baseline.p99 : '–',
  ratio(service.p99, baseline?.p99),
  `${service.errors}/${service.non2xx}${baseline ? ` (${baseline.errors}/${baseline.non2xx})` : ''}`,
  Math.round(service.peakRssWorkerMb),
  baseline ? Math.round(baseline.peakRssWorkerMb) : '–',
  Math.round(service.peakRssTotalMb),
]

const RESULT_HEADER = ['scenario', 'service req/s', 'baseline req/s', 'req/s ratio', 'p50 ms', 'p99 ms', 'baseline p99', 'p99 ratio',
  'errors/non-2xx (baseline)', 'peak RSS/worker MB', 'baseline peak RSS/worker', 'peak RSS total MB']

/**
 * Service and baseline side by side, in rounds ordered ABBA (service, baseline, baseline,
 * service, ...), so that a neighbour's load or a drift hits both alike; each warmed up first.
 */
const compare = async (benchUrl: string, workers: number) => {
  const sql = postgres(benchUrl, { max: 1, onnotice: () => {} })
  await seedUsers(sql, SEEDED_USERS)
  await sql.end({ timeout: 5 })
  const service = await startService(benchUrl, workers)
  const baseline = await startBaseline(benchUrl, workers)
  // With one worker, for the goals: the page-of-100 goal's reference (the bare server's page
  // without timestamps), and a second, identical bare server on the goals' scenarios, whose
  // difference from the first is the noise those ratios are read against.
  const untimed = workers === 1 ? await startBaseline(benchUrl, workers, { timestamps: false }) : undefined
  const again = workers === 1 ? await startBaseline(benchUrl, workers, { name: 'again' }) : undefined
  const rows: Record<string, { service: Measured; baseline: Measured; untimed?: Measured; again?: Measured }> = {}
  try {
    for (const scenario of selected(scenarios(SEEDED_USERS))) {
      log(`  ${workers} worker(s): ${scenario.name}`)
      const servers = [service, baseline]
      if (untimed && scenario.name === PAGE_SCENARIO) servers.push(untimed)
      if (again && GOAL_SCENARIOS.includes(scenario.name)) servers.push(again)
      for (const server of servers) await measure(server.url, scenario, { ...load, duration: load.warmup, warmup: 0 })
      const rounds: Record<string, Measured[]> = { service: [], baseline: [], untimed: [], again: [] }
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? servers : [...servers].reverse()
        for (const server of order) rounds[server.name]!.push(await measureWithMemory(server, scenario))
      }
      const merge = (results: Measured[]): Measured => ({
        ...combine(results),
        peakRssWorkerMb: Math.max(...results.map((result) => result.peakRssWorkerMb)),
        peakRssTotalMb: Math.max(...results.map((result) => result.peakRssTotalMb)),
      })
      rows[scenario.name] = {
        service: merge(rounds.service!),
        baseline: merge(rounds.baseline!),
        ...(rounds.untimed!.length ? { untimed: merge(rounds.untimed!) } : {}),
        ...(rounds.again!.length ? { again: merge(rounds.again!) } : {}),
      }
    }
  } finally {
    await Promise.all([service.stop(), baseline.stop(), untimed?.stop(), again?.stop()])
  }
  const table: Table = {
    title: `${workers} worker${workers > 1 ? 's' : ''}: service / bare Bun.serve + postgres.js, PostgreSQL, ${SEEDED_USERS.toLocaleString('en')} users, ${load.connections} connections, ${ROUNDS} rounds of ${load.duration} s each (ABBA) after ${load.warmup} s warm-up`,
    header: RESULT_HEADER,
    rows: Object.entries(rows).map(([name, { service, baseline }]) => resultRow(name, service, baseline)),
  }
  return { table, data: rows }
}

/**
 * What a setting costs: the service with and without it on `GET /users/{random id}`, 1 worker,
 * in alternating rounds (ABBA); the ratio is of the medians of the rounds' req/s.
 */
const FEATURE_VARIANTS: { name: string; on: Record<string, string>; off: Record<string, string> }[] = [
  // A limit no client reaches: the cost of counting, not of refusing.
  { name: RATE_LIMIT_VARIANT, on: { RATE_LIMIT: '1000000', RATE_LIMIT_WINDOW: '1' }, off: { RATE_LIMIT: '0' } },
]

const featureCosts = async (benchUrl: string) => {
  const scenario = scenarios(SEEDED_USERS)[0]!
  const rows: (string | number)[][] = []
  const data: Record<string, { on: number[]; off: number[]; offAgain: number[] }> = {}
  for (const variant of FEATURE_VARIANTS) {
    log(`  cost of ${variant.name}`)
    // A second, identical "off" server in the same rounds: how far two equal processes differ is
    // the noise the on/off ratio has to be read against.
    const servers = {
      on: await startService(benchUrl, 1, undefined, variant.on),
      off: await startService(benchUrl, 1, undefined, variant.off),
      offAgain: await startService(benchUrl, 1, undefined, variant.off),
    }
    const rps = { on: [] as number[], off: [] as number[], offAgain: [] as number[] }
    const labels = Object.keys(servers) as (keyof typeof servers)[]
    try {
      for (const label of labels) await measure(servers[label].url, scenario, { ...load, duration: load.warmup, warmup: 0 })
      for (let round = 0; round < Math.max(ROUNDS, 6); round++)
        for (const label of round % 2 === 0 ? labels : [...labels].reverse())
          rps[label].push((await measure(servers[label].url, scenario, { ...load, warmup: 0 })).rps)
    } finally {
      await Promise.all(labels.map((label) => servers[label].stop()))
    }
    data[variant.name] = rps
    const [on, off, offAgain] = [median(rps.on), median(rps.off), median(rps.offAgain)]
    rows.push([variant.name, Math.round(on), Math.round(off), ratio(on, off), Math.round(offAgain), ratio(offAgain, off), rps.on.length])
  }
  const table: Table = {
    title: `What a setting costs: ${scenario.name}, 1 worker, PostgreSQL, median req/s of alternating rounds`,
    header: ['setting', 'on req/s', 'off req/s', 'on / off', 'second off req/s', 'off / off (noise)', 'rounds each'],
    rows,
  }
  return { table, data }
}

/** What more workers bring: req/s of the last worker count over the first, for both servers. */
const workerScaling = (byWorkers: Map<number, Record<string, { service: Measured; baseline: Measured }>>): Table => {
  const counts = [...byWorkers.keys()]
  const [few, many] = [counts[0]!, counts.at(-1)!]
  const [low, high] = [byWorkers.get(few)!, byWorkers.get(many)!]
  return {
    title: `${many} workers against ${few}: req/s`,
    header: ['scenario', `service ${few}`, `service ${many}`, 'service gain', `baseline ${few}`, `baseline ${many}`, 'baseline gain'],
    rows: Object.keys(low).filter((name) => high[name]).map((name) => {
      const [a, b] = [low[name]!, high[name]!]
      return [name, Math.round(a.service.rps), Math.round(b.service.rps), ratio(b.service.rps, a.service.rps),
        Math.round(a.baseline.rps), Math.round(b.baseline.rps), ratio(b.baseline.rps, a.baseline.rps)]
    }),
  }
}

const embeddedFigure = async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'users-api-bench-embedded-'))
  try {
    const database = await openDatabase({ dataDir, poolMax: 1 })
    await migrate(database.sql)
    await seedUsers(database.sql, SEEDED_USERS)
    await database.close()
    const service = await startService(undefined, 1, dataDir)
    const rows: Record<string, Measured> = {}
    try {
      for (const scenario of selected(scenarios(SEEDED_USERS))) {
        log(`  embedded: ${scenario.name}`)
        rows[scenario.name] = await measureWithMemory(service, scenario, { ...load, duration: load.duration * ROUNDS })
      }
    } finally {
      await service.stop()
    }
    const table: Table = {
      title: 'Development figure: the embedded database (PGlite, one process, one connection), 1 worker, no baseline',
      header: RESULT_HEADER,
      rows: Object.entries(rows).map(([name, result]) => resultRow(name, result)),
    }
    return { table, data: rows }
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

const BINARY = join(ROOT, 'dist/users-api')
let built = false
const buildBinary = () => {
  if (built) return
  log('building the binary (bun run build)')
  const build = Bun.spawnSync(['bun', 'run', 'build'], { cwd: ROOT, stdout: 'ignore', stderr: 'inherit' })
  if (build.exitCode !== 0) throw new Error('bun run build failed')
  built = true
}

const coldStart = async (benchUrl: string) => {
  buildBinary()
  const figures = await measureStartup(BINARY, benchUrl)
  const table: Table = {
    title: 'Start-up: spawn to exit, to the first 200 on GET / (polled every 2 ms), or save to answer; medians of 5, ms',
    header: ['case', 'ms', 'bare reference', 'ms', 'ratio', 'goal'],
    rows: figures.map((f) => [f.label, Math.round(f.median), f.reference, Math.round(f.referenceMedian), ratio(f.median, f.referenceMedian), judgeStartup(f)]),
  }
  return { table, data: figures }
}

/** Metrics on, off (twice) and tracing on, over one read, on a database of `SEEDED_USERS` users. */
const observability = async (benchUrl: string) => {
  const sql = postgres(benchUrl, { max: 1, onnotice: () => {} })
  await seedUsers(sql, SEEDED_USERS)
  await sql.end({ timeout: 5 })
  return observabilityCost({
    start: (variables) => startService(benchUrl, 1, undefined, variables),
    freePort,
    scenario: scenarios(SEEDED_USERS)[0]!,
    load,
    rounds: Math.max(5, ROUNDS),
    log,
  })
}

/** `--soak`: constant load for minutes; memory of every worker sampled each second. */
const soak = async (benchUrl: string) => {
  const seconds = Number(args['soak-seconds'])
  const workers = Number(args.workers.split(',').at(-1))
  const sql = postgres(benchUrl, { max: 1, onnotice: () => {} })
  await seedUsers(sql, SEEDED_USERS)
  await sql.end({ timeout: 5 })
  const service = await startService(benchUrl, workers)
  try {
    const mix = soakMix(SEEDED_USERS)
    log(`  soak: ${workers} workers, ${load.connections} connections, 30 s warm-up then ${seconds} s: ${mix.name}`)
    await measure(service.url, mix, { ...load, warmup: 0, duration: 30 })
    const memory = sampleMemory(service, 1000)
    const result = await measure(service.url, mix, { ...load, warmup: 0, duration: seconds })
    const { samples, peakWorkerMb } = memory.stop()
    const window = Math.min(30, Math.floor(samples.length / 4))
    const mean = (rows: number[][]) => rows.flat().reduce((a, b) => a + b, 0) / rows.flat().length
    const first = mean(samples.slice(0, window))
    const last = mean(samples.slice(-window))
    const perMinute = samples.filter((_, i) => i % 60 === 0).map((rss) => rss.map((mb) => Math.round(mb)).join(' + '))
    const table: Table = {
      title: `Soak: ${seconds} s at ${load.connections} connections, ${workers} workers, PostgreSQL (${mix.name})`,
      header: ['req/s', 'p50 ms', 'p99 ms', 'requests', 'errors', 'non-2xx', `RSS/worker first ${window} s MB`, `last ${window} s MB`, 'growth', 'peak RSS/worker MB'],
      rows: [[Math.round(result.rps), result.p50, result.p99, result.requests, result.errors, result.non2xx, first, last,
        `${(((last - first) / first) * 100).toFixed(1)}%`, Math.round(peakWorkerMb)]],
      notes: [`RSS per worker at each minute (MB): ${perMinute.join(' | ')}`],
    }
    return { table, data: { result, first, last, samples } }
  } finally {
    await service.stop()
  }
}

const NAME_SCENARIO = 'GET /users?name=…&limit=20'

/** `--scale`: the same reads on 10,000 and on 1,000,000 users; EXPLAIN for each. */
const scale = async (benchUrl: string) => {
  const workers = Number(args.workers.split(',').at(-1))
  const sql = postgres(benchUrl, { max: 1, onnotice: () => {} })
  const figures: Record<string, Record<number, Measured>> = {}
  const plans: Record<number, Record<string, string>> = {}
  const misses: Record<number, { scans: string; ms: number }> = {}
  try {
    for (const users of [SEEDED_USERS, SCALED_USERS]) {
      const started = performance.now()
      await seedUsers(sql, users)
      log(`  seeded ${users.toLocaleString('en')} users in ${((performance.now() - started) / 1000).toFixed(1)} s`)
      plans[users] = await explainReads(sql, users)
      misses[users] = await timeNameMiss(sql)
      const service = await startService(benchUrl, workers)
      try {
        for (const scenario of scaleScenarios(users)) {
          log(`  ${users.toLocaleString('en')} users: ${scenario.name}`)
          ;(figures[scenario.name] ??= {})[users] = await measureWithMemory(service, scenario, { ...load, duration: load.duration * ROUNDS })
        }
      } finally {
        await service.stop()
      }
    }
  } finally {
    await sql.end({ timeout: 5 })
  }
  const table: Table = {
    title: `Scale: ${workers} workers, ${load.connections} connections, ${SEEDED_USERS.toLocaleString('en')} vs ${SCALED_USERS.toLocaleString('en')} users`,
    header: ['scenario', 'req/s 10k', 'req/s 1M', 'p99 ms 10k', 'p99 ms 1M', 'p99 1M/10k', 'errors/non-2xx 1M', 'plan at 1M'],
    rows: Object.entries(figures).map(([name, at]) => [name, Math.round(at[SEEDED_USERS]!.rps), Math.round(at[SCALED_USERS]!.rps), at[SEEDED_USERS]!.p99,
      at[SCALED_USERS]!.p99, ratio(at[SCALED_USERS]!.p99, at[SEEDED_USERS]!.p99), `${at[SCALED_USERS]!.errors}/${at[SCALED_USERS]!.non2xx}`, plans[SCALED_USERS]![name] ?? '–']),
    notes: [
      `The name filter's worst case, a substring no one has (EXPLAIN ANALYZE, one query): ` +
        [SEEDED_USERS, SCALED_USERS].map((users) => `${users.toLocaleString('en')} users: ${misses[users]!.scans}, ${misses[users]!.ms} ms`).join('; ') + '.',
    ],
  }
  const name = figures[NAME_SCENARIO]!
  const miss = misses[SCALED_USERS]!
  const goals: Table = {
    title: 'Goals (scale)',
    header: ['goal', 'this run', 'holds'],
    rows: [
      judged(`name search: p99 at ${SCALED_USERS.toLocaleString('en')} users ≤ 1.5× at ${SEEDED_USERS.toLocaleString('en')}`, name[SCALED_USERS]!.p99 / name[SEEDED_USERS]!.p99, undefined, 1.5),
      ['name search: a substring no one has, under 50 ms, from the trigram index', `${miss.ms} ms; ${miss.scans}`, miss.ms < 50 && miss.scans.includes('users_name_trgm') ? '✓' : '✗'],
    ],
  }
  return { tables: [table, goals], data: { figures, plans, misses } }
}

/** `--access`: authenticated reads against AUTH=off and the bare server, then 200 logins at once. */
const access = async (benchUrl: string) => {
  const sql = postgres(benchUrl, { max: 1, onnotice: () => {} })
  await seedUsers(sql, SEEDED_USERS)
  await sql.end({ timeout: 5 })
  return accessBench({
    startService: (secured) => startService(benchUrl, 1, undefined, secured ? { AUTH: 'on', ...BENCH_ADMIN } : {}),
    startBaseline: () => startBaseline(benchUrl, 1),
    sampleMemory,
    users: SEEDED_USERS,
    load,
    rounds: Math.max(5, ROUNDS),
    log,
  })
}

const main = async () => {
  log(`PostgreSQL: ${process.env.DATABASE_URL ? 'the server in DATABASE_URL' : `DATABASE_URL is unset: ${DEFAULT_SERVER_URL}`}; ` +
    `the benchmark works in its own database there, users_api_bench, created now and dropped at the end`)
  const benchDatabase = await createBenchDatabase(serverUrl)
  const benchUrl = benchDatabase.url
  const tables: Table[] = []
  const data: Record<string, unknown> = {}
  // A part with goal tables of its own, run alone or as part of the whole.
  const addPart = async (key: string, part: (benchUrl: string) => Promise<{ tables: Table[]; data: unknown }>) => {
    const result = await part(benchUrl)
    tables.push(...result.tables)
    data[key] = result.data
  }
  try {
    // Every service measured is then this build: the service as shipped.
    if (args.binary) buildBinary()
    const machineFacts = await machine(benchUrl)
    data.machine = machineFacts
    data.load = load
    log(`machine: ${describeMachine(machineFacts)}`)
    if (args.soak) {
      const result = await soak(benchUrl)
      tables.push(result.table)
      data.soak = result.data
    } else if (args.access) {
      await addPart('access', access)
    } else if (args.scale) {
      await addPart('scale', scale)
    } else if (args.costs) {
      const sql = postgres(benchUrl, { max: 1, onnotice: () => {} })
      await seedUsers(sql, SEEDED_USERS)
      await sql.end({ timeout: 5 })
      const result = await featureCosts(benchUrl)
      tables.push(result.table)
      data.feature_costs = result.data
    } else if (args.observability) {
      const result = await observability(benchUrl)
      tables.push(result.table)
      data.observability = result.data
    } else {
      const byWorkers = new Map<number, Awaited<ReturnType<typeof compare>>['data']>()
      for (const workers of args.workers.split(',').map(Number)) {
        const result = await compare(benchUrl, workers)
        tables.push(result.table)
        data[`workers_${workers}`] = result.data
        byWorkers.set(workers, result.data)
        log(`\n${markdownTable(result.table)}\n`)
      }
      if (byWorkers.size > 1) tables.push(workerScaling(byWorkers))
      if (!args['no-costs']) {
        const result = await featureCosts(benchUrl)
        tables.push(result.table)
        data.feature_costs = result.data
        log(`\n${markdownTable(result.table)}\n`)
      }
      tables.push(goalsTable(data.workers_1 as Parameters<typeof goalsTable>[0], data.feature_costs as Parameters<typeof goalsTable>[1]))
      if (!args['no-observability']) {
        const result = await observability(benchUrl)
        tables.push(result.table)
        data.observability = result.data
      }
      if (!args['no-embedded']) {
        const result = await embeddedFigure()
        tables.push(result.table)
        data.embedded = result.data
      }
      if (!args['no-cold-start']) {
        // A failed build must not cost the figures measured so far.
        try {
          const result = await coldStart(benchUrl)
          tables.push(result.table)
          data.cold_start = result.data
        } catch (error) {
          log(`cold start not measured: ${error instanceof Error ? error.message : String(error)}`)
        }
      }
      // Last, as the scale run leaves 1,000,000 users behind.
      if (!args['no-access']) await addPart('access', access)
      if (!args['no-scale']) await addPart('scale', scale)
    }
    const preamble = [
      `Machine: ${describeMachine(machineFacts)}.`,
      `Command: \`bun run bench${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}\`; ${new Date().toISOString()}.`,
    ]
    const kind = args.soak ? 'soak' : args.scale ? 'scale' : args.observability ? 'observability' : args.access ? 'access' : args.costs ? 'costs' : 'bench'
    const files = writeResults(kind, preamble, tables, data)
    log(`\n${preamble.join('\n')}\n\n${tables.map(markdownTable).join('\n\n')}\n\nwritten: ${files.join(', ')}`)
  } finally {
    await benchDatabase.drop()
  }
}

await main()
process.exit(0)
