import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { startEmbeddedPostgres } from '../src/db/embedded'
import { freePort } from '../src/free-port'
import { readLines } from './support/lines'
import { logIn } from './support/process'
import { copyProject } from './support/project-copy'

// The session builds and starts the app; the first start copies the database template.
setDefaultTimeout(60_000)

const project = copyProject()
const dataDir = join(project, 'data')
let session: Bun.Subprocess | undefined
afterAll(async () => {
  // A failed test must not leave the session running (it stops its app, then its database).
  if (session && session.exitCode === null) {
    session.kill('SIGINT')
    await Promise.race([session.exited, Bun.sleep(10_000)])
  }
  rmSync(project, { recursive: true, force: true })
})

/** Replaces `from` by `to` in one of the copy's source files. */
const edit = (file: string, from: string, to: string) => {
  const path = join(project, file)
  const text = readFileSync(path, 'utf8')
  expect(text).toContain(from)
  writeFileSync(path, text.replace(from, to))
}

/** Polls `check` every 20 ms until it returns true; fails after 20 s, with what `explain` tells. */
const eventually = async (check: () => Promise<boolean>, explain: () => string = () => '') => {
  const started = performance.now()
  while (performance.now() - started < 20_000) {
    if (await check().catch(() => false)) return
    await Bun.sleep(20)
  }
  throw new Error(`not within 20 s${explain()}`)
}

const ADMIN = { ADMIN_EMAIL: 'dev@example.com', ADMIN_PASSWORD: 'seven amber kites drift north' }

const notFoundDetail = async (url: string) => ((await (await fetch(`${url}/no-such-route`)).json()) as { detail: string }).detail

// The dev loop's own database is the embedded one: the suites on a server skip it, not to repeat it.
describe.skipIf(Boolean(process.env.DATABASE_URL))('bun run dev', () => {
  // It waited out SHUTDOWN_TIMEOUT + 1 s for the app (itself waiting for the database) and left its
  // socket directory behind.
  test('an embedded database another process holds: the session says so and exits 1 at once, leaving nothing', async () => {
    const held = join(project, 'held-data')
    const holder = await startEmbeddedPostgres(held)
    const socketDirs = () => new Set(readdirSync(tmpdir()).filter((name) => name.startsWith('users-api-dev-')))
    const before = socketDirs()
    try {
      const started = performance.now()
      const dev = Bun.spawn([process.execPath, 'run', 'dev'], {
        cwd: project,
        env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', DATA_DIR: held, LOG_LEVEL: 'info', METRICS_PORT: '0' },
        stdout: 'pipe',
        stderr: 'pipe',
      })
      expect(await dev.exited).toBe(1)
      expect(performance.now() - started).toBeLessThan(5000)
      const lines = (await new Response(dev.stdout).text()).trim().split('\n').map((line) => JSON.parse(line))
      expect(lines.find((line) => line.message === 'the embedded database did not start')).toMatchObject({ level: 'error', error: expect.stringContaining('is in use by a running service') })
      expect(lines.at(-1)).toMatchObject({ message: 'dev session stopped' })
      expect([...socketDirs()].filter((name) => !before.has(name))).toEqual([])
    } finally {
      await holder.stop()
      rmSync(held, { recursive: true, force: true })
    }
  })

  test('a save reloads the code on the same database; a crash of the app loses nothing; Ctrl-C stops both, exit 0', async () => {
    const dev = Bun.spawn([process.execPath, 'run', 'dev'], {
      cwd: project,
      env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info', METRICS_PORT: String(freePort()), ...ADMIN },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    session = dev
    const events: Record<string, unknown>[] = []
    const listening: string[] = []
    const notJson: string[] = []
    void (async () => {
      for await (const line of readLines(dev.stdout)) {
        let event: Record<string, unknown>
        try {
          event = JSON.parse(line)
        } catch {
          notJson.push(line)
          continue
        }
        events.push(event)
        if (event.message === 'listening') listening.push(String(event.url))
      }
    })()
    let stderr = ''
    const errors = (async () => {
      for await (const chunk of dev.stderr) stderr += new TextDecoder().decode(chunk)
      return stderr
    })()
    // What a step that timed out shows: the session's last lines, on both streams.
    const explain = () =>
      `\n--- stdout (last 15 lines) ---\n${events.slice(-15).map((event) => JSON.stringify(event)).join('\n')}\n--- not JSON ---\n${notJson.join('\n')}\n--- stderr ---\n${stderr.slice(-3000)}`
    await eventually(async () => listening.length === 1, explain)
    const url = listening[0]!
    expect(await notFoundDetail(url)).toBe('No such resource')
    // A token from before the reloads: the signing key is in the database, so it stays good.
    const token = await logIn(url, ADMIN.ADMIN_EMAIL, ADMIN.ADMIN_PASSWORD)
    const authorized = { authorization: `Bearer ${token}` }
    const created = await fetch(`${url}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authorized },
      body: JSON.stringify({ name: 'Dev Dana', email: 'dana@example.com', age: 33 }),
    })
    expect(created.status).toBe(201)
    const user = (await created.json()) as { id: number }

    // A save: the new code answers on the same port, with the same data.
    // A save may come as more than one change, so reloads are counted as "at least one more"; the
    // "listening" line may come a batch later than the answer.
    let before = listening.length
    edit('src/http/problems.ts', "detail: 'No such resource'", "detail: 'Nothing here'")
    await eventually(async () => (await notFoundDetail(url)) === 'Nothing here' && listening.length > before, explain)
    // The same save's second change may still swap the app once more, the port closed for those
    // milliseconds: the read is sent again until it reaches a server, and that answer must be 200.
    let read: Response | undefined
    await eventually(async () => (read = await fetch(`${url}/users/${user.id}`, { headers: authorized })) !== undefined, explain)
    expect(read!.status).toBe(200)

    // Reloads with the same migrations skip the check: only the first start logged it.
    const migrationChecks = () => events.filter((event) => event.message === 'migrations applied')
    expect(migrationChecks()).toHaveLength(1)

    // A migration added while the session runs (its file, then its entry): the reload that sees
    // the new list applies it.
    const listed = join(project, 'src/db/migrations.ts')
    const addMigration = (version: string, sql: string) => {
      writeFileSync(join(project, `migrations/${version}.sql`), sql)
      writeFileSync(
        listed,
        `${readFileSync(listed, 'utf8')}\nimport m${version} from '../../migrations/${version}.sql' with { type: 'text' }\n;(migrations as Migration[]).push({ version: '${version}', sql: m${version} })\n`,
      )
    }
    addMigration('9998_dev_probe', 'create table dev_probe (id int);\n')
    await eventually(async () => migrationChecks().some((event) => String(event.applied) === '9998_dev_probe'), explain)

    // A migration that fails: that start fails (and gives back its metrics port and connection);
    // once the migration is fixed, the next reload serves again on the same port.
    addMigration('9999_dev_broken', 'create tabel dev_broken (id int);\n')
    await eventually(async () => stderr.includes('dev: the service did not start'), explain)
    before = listening.length
    writeFileSync(join(project, 'migrations/9999_dev_broken.sql'), 'create table dev_broken (id int);\n')
    await eventually(async () => listening.length > before && (await fetch(`${url}/users/${user.id}`, { headers: authorized })).status === 200, explain)
    expect(migrationChecks().map((event) => String(event.applied)).slice(-2)).toEqual(['9998_dev_probe', '9999_dev_broken'])

    // A save that does not build: the last good code keeps serving.
    edit('src/http/problems.ts', "detail: 'Nothing here'", "detail: 'Nothing here' +")
    await eventually(async () => /build failed: http\/problems\.ts:/.test(stderr), explain)
    expect(await notFoundDetail(url)).toBe('Nothing here')
    // One slip that makes several errors: the first is named, at its place in the file.
    edit('src/http/problems.ts', "detail: 'Nothing here' +", "detail: 'Nothing here'}}")
    await eventually(async () => /build failed: http\/problems\.ts:\d+:\d+: Expected "\)" but found "\}"\n/.test(stderr), explain)
    expect(stderr).not.toContain('input.ts')
    before = listening.length
    edit('src/http/problems.ts', "detail: 'Nothing here'}}", "detail: 'Nothing here'")
    await eventually(async () => listening.length > before, explain)

    // A save that parses but throws as it loads: the last good code keeps serving, and the next
    // good save is served (Bun's loader keeps a module that failed, so this one is built afresh).
    edit('src/http/problems.ts', "detail: 'Nothing here'", "detail: (() => { throw new Error('loading failed') })()")
    await eventually(async () => stderr.includes('build failed: loading failed'), explain)
    expect(await notFoundDetail(url)).toBe('Nothing here')
    edit('src/http/problems.ts', "detail: (() => { throw new Error('loading failed') })()", "detail: 'Nothing left'")
    await eventually(async () => (await notFoundDetail(url)) === 'Nothing left', explain)

    // An editor's atomic save: the text goes to a temporary file beside the module, then is renamed
    // over it. The temporary file alone reloads nothing; the rename reloads once, with the new code.
    const reloads = () => events.filter((event) => event.message === 'shutting down' && event.signal === 'reload').length
    await Bun.sleep(300)
    const reloadsBefore = reloads()
    const problemsPath = join(project, 'src/http/problems.ts')
    const temporary = join(project, 'src/http/sedX4bQ2k')
    writeFileSync(temporary, readFileSync(problemsPath, 'utf8').replace("detail: 'Nothing left'", "detail: 'Nothing at all'"))
    writeFileSync(join(project, 'src/http/problems.ts~'), readFileSync(problemsPath, 'utf8'))
    await Bun.sleep(500)
    expect(reloads()).toBe(reloadsBefore)
    expect(await notFoundDetail(url)).toBe('Nothing left')
    renameSync(temporary, problemsPath)
    await eventually(async () => (await notFoundDetail(url)) === 'Nothing at all', explain)
    await Bun.sleep(500)
    expect(reloads()).toBe(reloadsBefore + 1)
    rmSync(join(project, 'src/http/problems.ts~'))

    // The app dies: the session starts it again; the database, in the session, kept everything.
    const appPid = Number((await Bun.$`pgrep -f ${join(project, "src/dev/reloader.ts")}`.text()).trim())
    before = listening.length
    process.kill(appPid, 'SIGKILL')
    await eventually(async () => listening.length > before && (await fetch(`${url}/users/${user.id}`, { headers: authorized })).status === 200, explain)
    expect(events.find((event) => event.message === 'the app exited; starting it again')).toMatchObject({ level: 'error', code: 137 })

    expect(new Set(listening)).toEqual(new Set([url]))
    expect(notJson).toEqual([])
    dev.kill('SIGINT')
    expect(await dev.exited).toBe(0)
    expect(events.at(-1)).toMatchObject({ message: 'dev session stopped' })
    const reported = await errors
    // Each failure says where: the file, line and column of a syntax error; the module that threw.
    expect(reported).toMatch(/dev: build failed: http\/problems\.ts:\d+:\d+: \S/)
    expect(reported).toMatch(/dev: build failed: loading failed \(\S*src\/http\/problems\.ts:\d+:\d+\)/)

    // Closed cleanly: the data directory opens again with the user in it.
    const embedded = await startEmbeddedPostgres(dataDir)
    const sql = postgres({ host: embedded.socketDir, port: embedded.port, username: 'postgres', database: 'postgres', max: 1 })
    try {
      expect([...(await sql`select to_regclass('dev_probe') is not null as probe, to_regclass('dev_broken') is not null as fixed`)]).toEqual([{ probe: true, fixed: true }])
      expect([...(await sql`select name, email from users order by id`)]).toEqual([
        { name: 'Administrator', email: ADMIN.ADMIN_EMAIL },
        { name: 'Dev Dana', email: 'dana@example.com' },
      ])
    } finally {
      await sql.end({ timeout: 5 })
      await embedded.stop()
    }
  })
})
