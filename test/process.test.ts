import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { createServerDatabase, serverPrepare, serverUrl, untilSomeoneWaitsOn } from './support/database'
import { readLines } from './support/lines'
import { binaryDir, checkedFetch, logIn, runMain, serviceCommand, startService, underTest, waitReady } from './support/process'
import pkg from '../package.json'

// Each test starts processes that open a database: seconds each on a small machine.
setDefaultTimeout(60_000)

const dataDir = mkdtempSync(join(tmpdir(), 'users-api-process-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

// Without DATABASE_URL: the embedded database, as a new user first runs it.
// Access control on, as shipped, whatever AUTH the suite runs with.
const ADMIN = { AUTH: 'on', ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'violet harbour lantern quietly 42' }
const embedded = { DATABASE_URL: undefined, DATA_DIR: dataDir, LOG_LEVEL: 'info', ...ADMIN }

let token = ''
const json = (method: string, body: unknown, headers: Record<string, string> = {}) => ({
  method,
  headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
  body: JSON.stringify(body),
})
const authorized = (init: RequestInit = {}, headers: Record<string, string> = {}) => ({ ...init, headers: { authorization: `Bearer ${token}`, ...headers } })

/** Logs in as the admin of `ADMIN` through a running service, and create, read, change, list and delete one user. */
const exerciseUsers = async (url: string, email: string) => {
  token = await logIn(url, ADMIN.ADMIN_EMAIL, ADMIN.ADMIN_PASSWORD)
  // Plain fetch: the suite checks answers against the first document it loaded, which under
  // AUTH=off lists no 401.
  const refused = await fetch(`${url}/users`)
  expect(refused.status).toBe(401)
  expect(refused.headers.get('www-authenticate')).toBe('Bearer')
  const me = await checkedFetch(`${url}/users/me`, authorized())
  expect(await me.json()).toMatchObject({ email: ADMIN.ADMIN_EMAIL, role: 'admin', name: 'Administrator' })
  const created = await checkedFetch(`${url}/users`, json('POST', { name: 'Smoke Test', email, age: 30 }))
  expect(created.status).toBe(201)
  const user = (await created.json()) as { id: number }
  expect(created.headers.get('location')).toBe(`/users/${user.id}`)
  const read = await checkedFetch(`${url}/users/${user.id}`, authorized())
  expect(await read.json()).toEqual(user)
  // Safe retries: conditional reads and writes, HEAD, and an idempotent create.
  const etag = `"${user.id}-1"`
  expect(read.headers.get('etag')).toBe(etag)
  expect((await checkedFetch(`${url}/users/${user.id}`, authorized({}, { 'if-none-match': etag }))).status).toBe(304)
  const head = await fetch(`${url}/users/${user.id}`, authorized({ method: 'HEAD' }))
  expect([head.status, head.headers.get('etag'), await head.text()]).toEqual([200, etag, ''])
  expect((await checkedFetch(`${url}/users/${user.id}`, json('PATCH', { age: 31 }, { 'if-match': `"${user.id}-9"` }))).status).toBe(412)
  const patched = await checkedFetch(`${url}/users/${user.id}`, json('PATCH', { age: 31 }, { 'if-match': etag }))
  expect(patched.status).toBe(200)
  expect(patched.headers.get('etag')).toBe(`"${user.id}-2"`)
  expect(await patched.json()).toMatchObject({ id: user.id, age: 31 })
  const once = json('POST', { name: 'Retried Rita', email: `retried-${email}`, age: 30 }, { 'idempotency-key': crypto.randomUUID() })
  const [original, retried] = [await checkedFetch(`${url}/users`, once), await checkedFetch(`${url}/users`, once)]
  expect([original.status, retried.status, retried.headers.get('idempotent-replayed')]).toEqual([201, 201, 'true'])
  const rita = (await original.json()) as { id: number }
  expect(await retried.json()).toEqual(rita)
  expect((await checkedFetch(`${url}/users/${rita.id}`, authorized({ method: 'DELETE' }))).status).toBe(204)
  const listed = await checkedFetch(`${url}/users?email=${encodeURIComponent(email)}`, authorized())
  expect(((await listed.json()) as unknown[]).length).toBe(1)
  expect((await checkedFetch(`${url}/users/${user.id}`, authorized({ method: 'DELETE' }))).status).toBe(204)
  expect((await checkedFetch(`${url}/users/${user.id}`, authorized())).status).toBe(404)
  const docs = await fetch(`${url}/docs`)
  expect(docs.status).toBe(200)
  const scalar = await fetch(`${url}/docs/scalar.js`)
  expect(scalar.status).toBe(200)
  expect((await scalar.text()).length).toBeGreaterThan(1_000_000)
  expect((await fetch(`${url}/openapi.json`)).status).toBe(200)
}

/** Sends `text` on a new connection to 127.0.0.1:`port`; what came back within a second. */
const rawExchange = async (port: number, text: string) => {
  let received = ''
  const socket = await Bun.connect({
    hostname: '127.0.0.1',
    port,
    socket: { data: (_, chunk) => void (received += chunk.toString()) },
  })
  socket.write(text)
  for (let waited = 0; waited < 50 && !received.includes('}'); waited++) await Bun.sleep(20)
  socket.end()
  return received
}

describe(`the service process (${underTest})`, () => {
  test('embedded: serves the users API; data survives a restart; SIGTERM and SIGINT exit 0', async () => {
    const first = await startService(embedded)
    await exerciseUsers(first.url, 'smoke@example.com')
    const created = await checkedFetch(`${first.url}/users`, json('POST', { name: 'Persistent Pat', email: 'pat@example.com', age: 44 }))
    expect(created.status).toBe(201)
    const user = (await created.json()) as { id: number }
    const port = new URL(first.url).port
    // A body declared past Bun's own ceiling (128 MiB) is still the service's 413, with its headers.
    const huge = await rawExchange(Number(port), 'POST /auth/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 200000000\r\n\r\n')
    expect(huge).toStartWith('HTTP/1.1 413 ')
    expect(huge.toLowerCase()).toContain('\r\ncontent-type: application/problem+json')
    expect(huge.toLowerCase()).toMatch(/\r\nx-request-id: [0-9a-f-]{36}\r\n/)
    expect(huge).toContain('"detail":"The request body must not exceed')
    expect((await runMain(['healthcheck'], { ...embedded, PORT: port })).code).toBe(0)
    expect(await first.stop('SIGTERM')).toBe(0)
    expect(first.lines.map((line) => JSON.parse(line).message)).toContain('shutting down')
    expect((await runMain(['healthcheck'], { ...embedded, PORT: port })).code).toBe(1)

    const second = await startService(embedded)
    try {
      token = await logIn(second.url, ADMIN.ADMIN_EMAIL, ADMIN.ADMIN_PASSWORD)
      const read = await checkedFetch(`${second.url}/users/${user.id}`, authorized())
      expect(read.status).toBe(200)
      expect(await read.json()).toEqual(user)
      const events = second.lines.map((line) => JSON.parse(line))
      expect(events.find((event) => event.message === 'migrations applied')).toMatchObject({ database: 'embedded', applied: [] })
      expect(events.find((event) => event.message === 'listening')).toMatchObject({ database: 'embedded' })
      // One connection whatever DATABASE_POOL_MAX says: no pool figure to show.
      expect(events.find((event) => event.message === 'listening')).not.toHaveProperty('pool')
    } finally {
      expect(await second.stop('SIGINT')).toBe(0)
    }
  })

  test.skipIf(!serverUrl)('on PostgreSQL: migrates, serves the users API, exits 0 on SIGTERM', async () => {
    const created = await createServerDatabase(serverUrl!, 'process')
    try {
      // One process (the binary's default is one worker per core; the WORKERS test covers that).
      const env = { DATABASE_URL: created.url, DATABASE_PREPARE: String(serverPrepare), LOG_LEVEL: 'info', WORKERS: '1', DATABASE_POOL_MAX: '10', ...ADMIN, NODE_ENV: 'production', AUTH_SECRET: undefined }
      const migrated = await runMain(['migrate'], env)
      expect(migrated.code).toBe(0)
      expect(JSON.parse(migrated.stdout)).toMatchObject({ database: 'server', applied: ['0001_create_users', '0002_accounts', '0003_safe_retries', '0004_name_trigram', '0005_name_statistics', '0006_idempotency_password', '0007_sweep_indexes', '0008_idempotency_claims'] })
      const service = await startService(env)
      try {
        expect(JSON.parse(service.lines[0]!)).toMatchObject({ message: 'listening', database: 'server', pool: 10 })
        await waitReady(service.url)
        // In production on a server, a generated key is worth a warning (the binary too, which folds `process.env.NODE_ENV`).
        const warnings = service.lines.map((line) => JSON.parse(line)).filter((event) => event.level === 'warn' && event.message !== 'database unavailable')
        expect(warnings.map((event) => event.message)).toEqual(['AUTH_SECRET is not set: tokens are signed with a key generated and kept in the database'])
        await exerciseUsers(service.url, 'server-smoke@example.com')
        expect((await runMain(['healthcheck'], { ...env, PORT: new URL(service.url).port })).code).toBe(0)
      } finally {
        expect(await service.stop('SIGTERM')).toBe(0)
      }
    } finally {
      await created.drop()
    }
  })

  test.skipIf(!serverUrl)('on PostgreSQL: SIGTERM while the first admin is still being written exits 0 without an error', async () => {
    const created = await createServerDatabase(serverUrl!, 'stopearly')
    const sql = postgres(created.url, { max: 1, onnotice: () => {}, prepare: serverPrepare })
    try {
      const env = { DATABASE_URL: created.url, DATABASE_PREPARE: String(serverPrepare), LOG_LEVEL: 'info', WORKERS: '1', REQUEST_TIMEOUT: '2000', ...ADMIN }
      expect((await runMain(['migrate'], env)).code).toBe(0)
      // On a server the service listens first, then makes the first admin. Its insert waits for
      // this transaction's row of the same email, so the stop finds it under way; it then fails (at
      // its statement timeout, REQUEST_TIMEOUT, or when the pool closes), which is no failure. Through
      // PgBouncer the stop waits out the pool's close timeout (5 s).
      const tx = await sql.reserve()
      await tx`begin`
      await tx`insert into users (name, email, age) values ('Not Yet', ${ADMIN.ADMIN_EMAIL}, 30)`
      const service = await startService(env)
      // Waiting for this transaction: the admin's insert, the one statement that can.
      await untilSomeoneWaitsOn(tx, 10)
      const code = await service.stop('SIGTERM')
      await tx`rollback`
      tx.release()
      // The last lines are read after the exit.
      await Bun.sleep(100)
      const said = service.lines.map((line) => JSON.parse(line) as { level: string; message: string })
      // Whether the abandoned insert is undone is the database's affair: PgBouncer lets it finish on
      // the server once this transaction ends. The service, stopped first, never says it made the admin.
      const adminCreated = said.some((event) => event.message === 'first admin created')
      expect({ code, errors: said.filter((event) => event.level === 'error'), adminCreated, last: said.at(-1)?.message }).toEqual({ code: 0, errors: [], adminCreated: false, last: 'stopped' })
    } finally {
      await sql.end({ timeout: 5 })
      await created.drop()
    }
  })

  test.skipIf(!serverUrl)('WORKERS=2 on PostgreSQL: migrations apply once, two workers share the port, SIGTERM exits 0', async () => {
    const created = await createServerDatabase(serverUrl!, 'workers')
    try {
      const service = await startService({
        DATABASE_URL: created.url,
        DATABASE_PREPARE: String(serverPrepare),
        LOG_LEVEL: 'info',
        WORKERS: '2',
        DATABASE_POOL_MAX: '10',
        ...ADMIN,
      })
      const events = () => service.lines.map((line) => JSON.parse(line))
      try {
        // Ready means the configured admin can log in, whichever worker answers: at once, no retry.
        await waitReady(service.url)
        const first = await fetch(`${service.url}/auth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: ADMIN.ADMIN_EMAIL, password: ADMIN.ADMIN_PASSWORD }),
        })
        expect(first.status).toBe(200)
        const settled = () => events().filter((event) => event.message === 'migrations applied').length === 2
        for (let i = 0; i < 200 && !settled(); i++) await Bun.sleep(50)
        const listening = events().filter((event) => event.message === 'listening')
        expect(listening.map((event) => event.worker).sort()).toEqual([1, 2])
        expect(new Set(listening.map((event) => event.url)).size).toBe(1)
        // DATABASE_POOL_MAX is the budget for both together.
        expect(listening.map((event) => event.pool)).toEqual([5, 5])
        // Each worker migrates; the advisory lock lets exactly one of them apply the migration.
        const applied = events().filter((event) => event.message === 'migrations applied').flatMap((event) => event.applied)
        expect(applied).toEqual(['0001_create_users', '0002_accounts', '0003_safe_retries', '0004_name_trigram', '0005_name_statistics', '0006_idempotency_password', '0007_sweep_indexes', '0008_idempotency_claims'])
        await exerciseUsers(service.url, 'workers-smoke@example.com')
        const replies = await Promise.all(Array.from({ length: 20 }, () => fetch(`${service.url}/`)))
        expect(replies.map((reply) => reply.status)).toEqual(Array(20).fill(200))
      } finally {
        expect(await service.stop('SIGTERM')).toBe(0)
      }
      expect(events().filter((event) => event.message === 'shutting down').length).toBe(3)
    } finally {
      await created.drop()
    }
  })

  test.skipIf(!serverUrl)('WORKERS=2 with RATE_LIMIT: one limit for the group, to within a batch per worker', async () => {
    const created = await createServerDatabase(serverUrl!, 'ratelimit')
    const limit = 40
    const batch = 2 // a tenth of a worker's share: 40 / (10 × 2)
    try {
      // One window of an hour: not to be crossed by the test.
      const left = 3_600_000 - (Date.now() % 3_600_000)
      if (left < 15_000) await Bun.sleep(left + 100)
      const service = await startService({
        DATABASE_URL: created.url,
        DATABASE_PREPARE: String(serverPrepare),
        WORKERS: '2',
        RATE_LIMIT: String(limit),
        RATE_LIMIT_WINDOW: '3600',
        LOG_LEVEL: 'info',
      })
      try {
        // A connection each, so the kernel spreads them over both workers; a few milliseconds apart,
        // as the bound is stated: a burst faster than the reports travel between the processes can
        // overshoot by what arrives meanwhile (docs/api.md).
        const statuses: number[] = []
        for (let i = 0; i < 2 * limit; i++) {
          statuses.push((await fetch(`${service.url}/`, { headers: { connection: 'close' } })).status)
          await Bun.sleep(3)
        }
        const passed = statuses.filter((status) => status === 200).length
        expect(passed).toBeGreaterThanOrEqual(limit)
        expect(passed).toBeLessThanOrEqual(limit + 2 * batch)
        expect(statuses.filter((status) => status !== 200 && status !== 429)).toEqual([])
        const refused = await fetch(`${service.url}/`, { headers: { connection: 'close' } })
        expect(refused.status).toBe(429)
        expect(refused.headers.get('ratelimit-policy')).toBe(`"default";q=${limit};w=3600`)
        expect(refused.headers.get('ratelimit')).toMatch(/^"default";r=0;t=\d+$/)
      } finally {
        expect(await service.stop('SIGTERM')).toBe(0)
      }
    } finally {
      await created.drop()
    }
  })

  test.skipIf(!serverUrl)('WORKERS=2: SIGTERM while the workers still load exits 0, and says nothing on stderr', async () => {
    const created = await createServerDatabase(serverUrl!, 'earlystop')
    try {
      const child = Bun.spawn(serviceCommand.command, {
        cwd: serviceCommand.cwd,
        env: { ...process.env, DATABASE_URL: created.url, DATABASE_PREPARE: String(serverPrepare), WORKERS: '2', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', METRICS_PORT: '0' },
        stdout: 'pipe',
        stderr: 'pipe',
      })
      const events: { message: string }[] = []
      for await (const line of readLines(child.stdout)) {
        events.push(JSON.parse(line))
        // The primary has just spawned its workers: they are loading, not listening yet.
        if (events.at(-1)!.message === 'starting workers') break
      }
      child.kill('SIGTERM')
      expect(await child.exited).toBe(0)
      expect(await new Response(child.stderr).text()).toBe('')
    } finally {
      await created.drop()
    }
  })

  test('create-admin reads the password from standard input; unlock; both refuse while the service holds the embedded data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'users-api-admin-'))
    try {
      const env = { DATABASE_URL: undefined, DATA_DIR: dir, LOG_LEVEL: 'info', AUTH: 'on', ADMIN_EMAIL: undefined, ADMIN_PASSWORD: undefined }
      const password = 'quiet orchard lamp 77 under snow'
      // An address the API would refuse at login: refused here, before anything is opened.
      expect(await runMain(['create-admin', 'ops@exa_mple.com'], env, `${password}\n`)).toMatchObject({
        code: 2,
        stderr: 'create-admin: not an email address (local@domain.tld, as the API accepts)\n',
      })
      expect(await runMain(['create-admin', 'ops@example.com'], env, '')).toEqual({
        code: 2,
        stdout: '',
        stderr: 'create-admin: no password given: type it when asked, or send it on standard input\n',
      })
      // Too short: refused before the embedded database is made in DATA_DIR.
      expect(await runMain(['create-admin', 'ops@example.com'], env, 'password123\n')).toEqual({
        code: 1,
        stdout: '',
        stderr: 'create-admin: the password must be 15 to 128 characters long\n',
      })
      expect(readdirSync(dir)).toEqual([])
      // Long enough, but in the dictionary: judged with the data (and the user's name, if any).
      const weak = await runMain(['create-admin', 'ops@example.com'], env, 'passwordpassword123\n')
      expect(weak.code).toBe(1)
      expect(weak.stderr).toStartWith('create-admin: the password ')
      expect(weak.stderr).not.toContain('passwordpassword123')
      const made = await runMain(['create-admin', 'ops@example.com'], env, `${password}\n`)
      expect(made).toMatchObject({ code: 0, stdout: 'admin ops@example.com created\n' })
      expect(made.stdout + made.stderr).not.toContain(password)
      expect(await runMain(['unlock', 'ops@example.com'], env)).toMatchObject({ code: 0, stdout: 'unlocked ops@example.com (0 failed logins forgotten)\n' })
      const service = await startService(env)
      try {
        expect(service.lines.map((line) => JSON.parse(line).message)).not.toContain('no admin yet: set ADMIN_EMAIL and ADMIN_PASSWORD, or run `users-api create-admin EMAIL` (`bun run create-admin EMAIL` from source; the password on standard input)')
        const token = await logIn(service.url, 'ops@example.com', password)
        expect((await fetch(`${service.url}/users/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
        const held = await runMain(['create-admin', 'other@example.com'], env, `${password}\n`)
        expect(held.code).toBe(1)
        expect(held.stderr).toContain('is in use by a running service')
      } finally {
        expect(await service.stop('SIGTERM')).toBe(0)
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('without an admin or ADMIN_EMAIL, one log line says how to make one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'users-api-noadmin-'))
    try {
      const service = await startService({ DATABASE_URL: undefined, DATA_DIR: dir, LOG_LEVEL: 'info', AUTH: 'on', ADMIN_EMAIL: undefined, ADMIN_PASSWORD: undefined })
      try {
        await waitReady(service.url)
        const hints = service.lines.map((line) => JSON.parse(line)).filter((event) => event.message.startsWith('no admin yet'))
        expect(hints).toEqual([expect.objectContaining({ level: 'warn', message: 'no admin yet: set ADMIN_EMAIL and ADMIN_PASSWORD, or run `users-api create-admin EMAIL` (`bun run create-admin EMAIL` from source; the password on standard input)' })])
      } finally {
        expect(await service.stop('SIGTERM')).toBe(0)
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('WORKERS above 1 without DATABASE_URL is refused: the embedded database serves one process', async () => {
    const result = await runMain([], { ...embedded, WORKERS: '2' })
    expect(result.code).toBe(1)
    expect(result.stderr).toBe('invalid configuration: WORKERS="2" must be 1 without DATABASE_URL: the embedded database serves one process\n')
  })

  test('migrate on a new embedded database: it is a copy of the migrated template, so nothing is left to apply', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'users-api-migrate-'))
    try {
      const first = await runMain(['migrate'], { ...embedded, DATA_DIR: dir })
      expect(first.code).toBe(0)
      expect(JSON.parse(first.stdout)).toMatchObject({ level: 'info', message: 'migrations applied', database: 'embedded', applied: [] })
      expect(existsSync(join(dir, 'PG_VERSION'))).toBe(true)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test.skipIf(!serverUrl)('migrate on PostgreSQL applies the migrations and exits 0; a second run applies none', async () => {
    const server = await createServerDatabase(serverUrl!, 'migrate')
    try {
      const env = { DATABASE_URL: server.url, DATABASE_PREPARE: String(serverPrepare), LOG_LEVEL: 'info' }
      const first = await runMain(['migrate'], env)
      expect(first.code).toBe(0)
      expect(JSON.parse(first.stdout)).toMatchObject({ level: 'info', message: 'migrations applied', database: 'server', applied: ['0001_create_users', '0002_accounts', '0003_safe_retries', '0004_name_trigram', '0005_name_statistics', '0006_idempotency_password', '0007_sweep_indexes', '0008_idempotency_claims'] })
      const second = await runMain(['migrate'], env)
      expect(second.code).toBe(0)
      expect(JSON.parse(second.stdout)).toMatchObject({ applied: [] })
    } finally {
      await server.drop()
    }
  })

  test('an invalid setting stops start-up with one line naming it', async () => {
    const result = await runMain([], { ...embedded, PORT: 'abc' })
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe('invalid configuration: PORT="abc" must be an integer from 0 to 65535, written in decimal digits\n')
  })

  // METRICS_PORT's: test/metrics/service.test.ts.
  test('a PORT in use stops start-up with a line naming it', async () => {
    const taken = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('') })
    try {
      const result = await runMain([], { ...embedded, HOST: '127.0.0.1', PORT: String(taken.port) })
      expect(result.code).toBe(1)
      expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toMatchObject({
        message: 'start-up failed',
        error: `PORT=${taken.port} on HOST=127.0.0.1: Failed to start server. Is port ${taken.port} in use?`,
      })
    } finally {
      await taken.stop(true)
    }
  })

  test('a DATA_DIR that cannot be a directory stops start-up with a line naming it', async () => {
    const file = join(dataDir, 'a-file')
    await Bun.write(file, 'not a directory')
    const result = await runMain([], { ...embedded, DATA_DIR: file })
    expect(result.code).toBe(1)
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toMatchObject({
      level: 'error',
      message: 'start-up failed',
      error: `DATA_DIR="${file}" cannot hold the embedded database: EEXIST`,
    })
  })

  test('an ADMIN_PASSWORD the dictionary finds weak stops the service (exit 1), leaving no socket directory behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'users-api-weakadmin-'))
    const socketDirs = () => new Set(readdirSync(tmpdir()).filter((name) => /^users-api-[A-Za-z0-9]{6}$/.test(name)))
    try {
      const before = socketDirs()
      const result = await runMain([], { ...embedded, DATA_DIR: dir, ADMIN_PASSWORD: 'passwordpassword123' })
      expect(result.code).toBe(1)
      const failed = result.stdout.trim().split('\n').map((line) => JSON.parse(line)).filter((event) => event.level === 'error')
      expect(failed.map((event) => event.message)).toEqual(['the first admin could not be created'])
      expect(result.stdout + result.stderr).not.toContain('passwordpassword123')
      expect([...socketDirs()].filter((name) => !before.has(name))).toEqual([])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test.each([
    [['launch'], 'unknown command: launch'],
    [['create-admin'], 'create-admin needs an EMAIL'],
    [['migrate', 'now'], 'too many arguments for migrate'],
    [['settings', 'all'], 'too many arguments for settings'],
  ])('%p: what was wrong, then the usage, on stderr; exit 2', async (args, wrong) => {
    const result = await runMain(args, embedded)
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toStartWith(`${wrong}\n\nusage: users-api [command]`)
  })

  test.skipIf(!binaryDir)('the binary ignores .env and bunfig.toml in its working directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'users-api-dotenv-'))
    await Bun.write(join(binaryDir!, '.env'), 'PORT=abc\nLOG_LEVEL=verbose\n')
    await Bun.write(join(binaryDir!, 'bunfig.toml'), 'preload = ["./missing.ts"]\n')
    try {
      const result = await runMain(['migrate'], { ...embedded, DATA_DIR: dir })
      expect(result.stderr).toBe('')
      expect(result.code).toBe(0)
    } finally {
      rmSync(join(binaryDir!, '.env'))
      rmSync(join(binaryDir!, 'bunfig.toml'))
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('--help and --version', async () => {
    const help = await runMain(['--help'], embedded)
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('healthcheck')
    const version = await runMain(['--version'], embedded)
    expect(version.code).toBe(0)
    expect(version.stdout).toBe(`${pkg.version}\n`)
  })

  test('settings prints every setting with its default, whatever the environment holds', async () => {
    const example = await Bun.file(new URL('../.env.example', import.meta.url)).text()
    const settings = await runMain(['settings'], { ...embedded, PORT: 'abc' })
    expect(settings).toMatchObject({ code: 0, stderr: '' })
    // The example less its opening paragraph, on copying it to .env (which the binary never reads).
    expect(settings.stdout).toBe(example.slice(example.indexOf('\n\n') + 2))
    expect(settings.stdout).toStartWith('# Every variable is optional; the value shown is the default.\n# production:')
    expect(settings.stdout).toContain('\nPORT=8000\n# Address to bind')
    expect(settings.stdout).not.toContain('.env for')
  })
})
