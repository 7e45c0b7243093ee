/**
 * Start-up figures, each next to a bare reference measured the same way in the same run, as a
 * ratio: the binary's commands and first answer, new embedded databases (copies of the template)
 * against PGlite opening an existing one, and the dev loop's reload against a bare Bun server's.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { startEmbeddedPostgres } from '../src/db/embedded'
import { pgliteAssets } from '../src/db/pglite-assets'
import { freePort } from '../src/free-port'
import { availableCpus } from '../src/runtime'
import { copyProject } from '../test/support/project-copy'
import { median } from './load'

const POLL_MS = 2
const GIVE_UP_MS = 60_000
const ROOT = join(import.meta.dir, '..')

export interface StartupFigure {
  label: string
  median: number
  reference: string
  referenceMedian: number
  /** The most this may be of its reference (a ratio); undefined: shown for comparison only. */
  goal?: number
}

/** The goal column: `≤ 2× ✓`, `≤ 2× ✗`, or empty for a comparison. */
export const judgeStartup = ({ median, referenceMedian, goal }: StartupFigure) =>
  goal === undefined ? '' : `≤ ${goal}× ${median / referenceMedian <= goal ? '✓' : '✗'}`

/** Milliseconds since `started` until GET http://127.0.0.1:port{path} gives an answer `wanted` accepts, polled every 2 ms. */
const until = async (port: number, path: string, wanted: (response: Response) => Promise<boolean>, started: number, what: string) => {
  while (performance.now() - started < GIVE_UP_MS) {
    if (await fetch(`http://127.0.0.1:${port}${path}`).then(wanted, () => false)) return performance.now() - started
    await Bun.sleep(POLL_MS)
  }
  throw new Error(`no ${what} within 60 s`)
}

/** Milliseconds until GET / answers 200. */
const untilAnswer = (port: number, started: number) => until(port, '/', async (response) => response.status === 200, started, 'answer')

/** Milliseconds until GET {path} answers with `text` in its body. */
const untilBodyHas = (port: number, path: string, text: string, started: number) =>
  until(port, path, async (response) => (await response.text()).includes(text), started, `answer with ${text}`)

/** Spawn to the first 200 on GET /, then SIGTERM. */
const timeToFirstAnswer = async (command: string[], env: Record<string, string>, cwd?: string) => {
  const port = freePort()
  const started = performance.now()
  // Metrics on, as shipped, on a free port (the default may be taken on a shared machine).
  const childEnv = { PATH: process.env.PATH ?? '', ...env, PORT: String(port), HOST: '127.0.0.1', METRICS_PORT: String(freePort()) }
  const child = Bun.spawn(command, { cwd, env: childEnv, stdout: 'ignore', stderr: 'inherit' })
  try {
    return await untilAnswer(port, started)
  } finally {
    child.kill('SIGTERM')
    await child.exited
  }
}

/** Spawn to exit. */
const timeToExit = async (command: string[]) => {
  const started = performance.now()
  const child = Bun.spawn(command, { stdout: 'ignore', stderr: 'inherit' })
  await child.exited
  return performance.now() - started
}

/** Compiles `source` into a binary in `dir`, as `bun run build` compiles the service. */
const compileBare = (dir: string, name: string, source: string) => {
  const entry = join(dir, `${name}.ts`)
  Bun.write(entry, source)
  const built = Bun.spawnSync(['bun', 'build', '--compile', '--bytecode', entry, '--outfile', join(dir, name)], { stdout: 'ignore', stderr: 'inherit' })
  if (built.exitCode !== 0) throw new Error(`compiling ${name} failed`)
  return join(dir, name)
}

const ELYSIA_SERVER = `import { Elysia } from 'elysia'\nnew Elysia().get('/', () => 'ok').listen({ port: Number(process.env.PORT), hostname: '127.0.0.1' })\n`
const BARE_SERVER = `const server = Bun.serve({ port: Number(process.env.PORT), hostname: '127.0.0.1', fetch: () => new Response('ok') })\nconsole.log('listening', server.port)\n`
const PGLITE_OPEN = `import { PGlite } from '@electric-sql/pglite'\nconst db = await PGlite.create({ dataDir: process.argv[2] })\nawait db.query('select 1')\nawait db.close()\n`

/** Repeats `run` n times (after `setup` each time, untimed). */
const repeat = async (n: number, run: () => Promise<number>) => {
  const runs: number[] = []
  for (let i = 0; i < n; i++) runs.push(await run())
  return median(runs)
}

/** A process that reloads on a save, and an edit that shows in its answers: the string literal `'{text}'` in `file`, answered at `path`. */
interface Reloading {
  command: string[]
  cwd: string
  env: Record<string, string>
  file: string
  text: string
  path: string
}

/**
 * Save-to-answer of `bun run dev`-like processes, all running at once and edited in turns (the
 * order reversed every other round, ABBA): change the string literal `text` in `file` (a new one
 * each time), then time until `GET path` answers with the new string, i.e. the new code answering,
 * whatever the process logs and whenever. The median of `runs` per process.
 */
const timeReloads = async (subjects: Reloading[], runs: number) => {
  const started = subjects.map((subject) => {
    const port = freePort()
    const env = { PATH: process.env.PATH ?? '', ...subject.env, PORT: String(port), HOST: '127.0.0.1', METRICS_PORT: String(freePort()) }
    const child = Bun.spawn(subject.command, { cwd: subject.cwd, env, stdout: 'ignore', stderr: 'inherit' })
    return { ...subject, port, child, original: readFileSync(subject.file, 'utf8'), current: subject.text, times: [] as number[] }
  })
  try {
    for (const subject of started) await untilBodyHas(subject.port, subject.path, subject.text, performance.now())
    for (let i = 0; i < runs; i++)
      for (const subject of i % 2 === 0 ? started : started.toReversed()) {
        await Bun.sleep(300)
        const next = `${subject.text} ${i}`
        const source = readFileSync(subject.file, 'utf8')
        if (!source.includes(`'${subject.current}'`)) throw new Error(`'${subject.current}' is not in ${subject.file}`)
        const start = performance.now()
        writeFileSync(subject.file, source.replace(`'${subject.current}'`, `'${next}'`))
        subject.times.push(await untilBodyHas(subject.port, subject.path, next, start))
        subject.current = next
      }
    return started.map((subject) => median(subject.times))
  } finally {
    for (const subject of started) {
      subject.child.kill('SIGINT')
      await subject.child.exited
      writeFileSync(subject.file, subject.original)
    }
  }
}

/** The groups of figures, each with its references: `bun bench/startup.ts dev` measures one. */
const STARTUP_GROUPS = ['binary', 'embedded', 'dev'] as const
type StartupGroup = (typeof STARTUP_GROUPS)[number]

/** Every figure of `groups` (default all); `binary` is dist/users-api, freshly built. */
export const measureStartup = async (binary: string, serverUrl: string, runs = 5, groups: readonly StartupGroup[] = STARTUP_GROUPS): Promise<StartupFigure[]> => {
  const scratch = mkdtempSync(join(tmpdir(), 'users-api-bench-startup-'))
  const project = copyProject()
  try {
    const bareVersion = compileBare(scratch, 'bare-version', "console.log('1.0.0')\n")
    const bareServer = compileBare(scratch, 'bare-server', BARE_SERVER)
    // Compiled inside the project, so that it finds Elysia in node_modules.
    const elysiaServer = compileBare(project, 'elysia-server', ELYSIA_SERVER)
    const production = { NODE_ENV: 'production', LOG_LEVEL: 'warn' }
    const figures: StartupFigure[] = []
    const add = (label: string, value: number, reference: string, referenceValue: number, goal?: number) =>
      figures.push({ label, median: value, reference, referenceMedian: referenceValue, goal })

    if (groups.includes('binary')) {
      const version = await repeat(runs, () => timeToExit([binary, '--version']))
      const help = await repeat(runs, () => timeToExit([binary, '--help']))
      const bareVersionMs = await repeat(runs, () => timeToExit([bareVersion]))
      add('users-api --version', version, 'compiled console.log', bareVersionMs, 3)
      add('users-api --help', help, 'compiled console.log', bareVersionMs, 3)

      const onServer = await repeat(runs, () => timeToFirstAnswer([binary], { ...production, DATABASE_URL: serverUrl, WORKERS: '1' }))
      const bareServerMs = await repeat(runs, () => timeToFirstAnswer([bareServer], {}))
      const elysiaServerMs = await repeat(runs, () => timeToFirstAnswer([elysiaServer], {}))
      add('users-api on PostgreSQL, first answer', onServer, 'compiled Bun.serve', bareServerMs, 2)
      add('compiled Elysia hello world, first answer', elysiaServerMs, 'compiled Bun.serve', bareServerMs)
      // As shipped on a server: the binary's primary starts one worker per core; the first to listen answers.
      const onServerDefault = await repeat(runs, () => timeToFirstAnswer([binary], { ...production, DATABASE_URL: serverUrl }))
      add(`users-api, PostgreSQL, ${availableCpus()} workers, first answer`, onServerDefault, 'compiled Bun.serve', bareServerMs)
    }

    // PGlite opening an existing data directory, run the same way (spawn to done).
    const existing = join(scratch, 'existing')
    await timeToFirstAnswer([binary], { ...production, DATA_DIR: existing })
    const pgliteScript = join(project, 'pglite-open.ts')
    await Bun.write(pgliteScript, PGLITE_OPEN)
    const pgliteOpen = await repeat(runs, () => timeToExit([process.execPath, pgliteScript, existing]))
    let n = 0
    const newDir = () => join(scratch, `new-${n++}`)
    if (groups.includes('embedded')) {
      const binaryNew = await repeat(runs, () => timeToFirstAnswer([binary], { ...production, DATA_DIR: newDir() }))
      const binaryExisting = await repeat(runs, () => timeToFirstAnswer([binary], { ...production, DATA_DIR: existing }))
      add('users-api, new embedded database, first answer', binaryNew, 'PGlite opening an existing one', pgliteOpen, 1.5)
      add('users-api, existing embedded database, first answer', binaryExisting, 'PGlite opening an existing one', pgliteOpen)
      // A test database, in this process: a new one (copied from the template) against PGlite
      // opening an existing one, both with the same WebAssembly options.
      const testNew = await repeat(runs, async () => {
        const started = performance.now()
        const embedded = await startEmbeddedPostgres(newDir())
        const elapsed = performance.now() - started
        await embedded.stop()
        return elapsed
      })
      const testExisting = await repeat(runs, async () => {
        const started = performance.now()
        const db = await PGlite.create({ dataDir: existing, ...(await pgliteAssets()) })
        const elapsed = performance.now() - started
        await db.close()
        return elapsed
      })
      add('test database: new (template copy), served on its socket', testNew, 'PGlite.create on an existing one', testExisting, 1.5)
    }
    if (!groups.includes('dev')) return figures
    const devNew = await repeat(runs, () => timeToFirstAnswer([process.execPath, 'run', 'dev'], { DATA_DIR: newDir(), LOG_LEVEL: 'warn' }, project))
    add('bun run dev, new embedded database, first answer', devNew, 'PGlite opening an existing one', pgliteOpen, 1.5)

    // Reloads: the dev session against a bare server under bun --watch and bun --hot, each in a
    // directory of its own, all three running at once and edited in turns.
    const bareUnder = (mode: '--watch' | '--hot') => {
      const dir = join(scratch, `bare${mode}`)
      mkdirSync(dir)
      writeFileSync(join(dir, 'server.ts'), BARE_SERVER)
      return { command: [process.execPath, mode, 'server.ts'], cwd: dir, env: {}, file: join(dir, 'server.ts'), text: 'ok', path: '/' }
    }
    const [devReload, watchReload, hotReload] = (await timeReloads(
      [
        { command: [process.execPath, 'run', 'dev'], cwd: project, env: { DATA_DIR: existing, LOG_LEVEL: 'info' }, file: join(project, 'src/http/problems.ts'), text: 'No such resource', path: '/no-such-route' },
        bareUnder('--watch'),
        bareUnder('--hot'),
      ],
      runs * 2 - 1,
    )) as [number, number, number]
    add('bun run dev: save to answer', devReload, 'bare Bun.serve, bun --watch', watchReload, 2)
    add('bun run dev: save to answer', devReload, 'bare Bun.serve, bun --hot', hotReload)
    return figures
  } finally {
    rmSync(scratch, { recursive: true, force: true })
    rmSync(project, { recursive: true, force: true })
  }
}

/** Run alone: `bun bench/startup.ts` (after `bun run build`). */
if (import.meta.main) {
  const asked = process.argv.slice(2)
  const unknown = asked.filter((group) => !(STARTUP_GROUPS as readonly string[]).includes(group))
  if (unknown.length > 0) throw new Error(`unknown group ${unknown.join(', ')}: the groups are ${STARTUP_GROUPS.join(', ')}`)
  const groups = asked.length > 0 ? (asked as StartupGroup[]) : STARTUP_GROUPS
  const figures = await measureStartup(join(ROOT, 'dist/users-api'), process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres', 5, groups)
  for (const f of figures)
    console.log(`${f.label.padEnd(52)} ${Math.round(f.median).toString().padStart(6)} ms   ${f.reference.padEnd(32)} ${Math.round(f.referenceMedian).toString().padStart(5)} ms   ${(f.median / f.referenceMedian).toFixed(2)}×  ${judgeStartup(f)}`)
}
