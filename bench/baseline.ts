/**
 * The bare stack the service is measured against: `Bun.serve` and postgres.js, the service's SQL
 * for the benchmarked routes, the same JSON out, and nothing else: no framework, no validation,
 * no request id, no problem+json. Whatever the service costs beyond this is the price of its
 * features.
 *
 * Environment: DATABASE_URL, PORT, HOST, DATABASE_POOL_MAX, WORKERS (processes on one port with
 * SO_REUSEPORT, like the service's workers); BASELINE_TIMESTAMPS=off leaves `created_at` and
 * `updated_at` out of every answer (the reference of the page-of-100 goal). Logs one `listening` line per process.
 */
import postgres from 'postgres'

const WORKER_VARIABLE = 'BASELINE_WORKER'
const workers = Number(process.env.WORKERS ?? '1')
const port = Number(process.env.PORT ?? '8001')
const hostname = process.env.HOST ?? '127.0.0.1'

// The row as src/users/service.ts reads it, restated rather than imported: the baseline shares
// none of the service's code, so that it measures the bare stack and nothing of ours.
interface UserRow {
  id: string
  name: string
  email: string
  age: number
  created_at?: Date
  updated_at?: Date
}

const withTimestamps = process.env.BASELINE_TIMESTAMPS !== 'off'

const toUser = (row: UserRow) => ({
  id: Number(row.id),
  name: row.name,
  email: row.email,
  age: row.age,
  ...(withTimestamps ? { created_at: row.created_at!.toISOString(), updated_at: row.updated_at!.toISOString() } : {}),
})

const escapeLike = (value: string) => value.replace(/[\\%_]/g, '\\$&')

const serve = () => {
  // The service's client options, so both pay the same per-connection costs; like the service,
  // DATABASE_POOL_MAX is the budget of all workers together, split evenly, at least one each.
  const sql = postgres(process.env.DATABASE_URL!, {
    max: Math.max(1, Math.floor(Number(process.env.DATABASE_POOL_MAX ?? '10') / workers)),
    connect_timeout: 5,
    onnotice: () => {},
    connection: { statement_timeout: 5000, application_name: 'users-api-baseline' },
  })
  const columns = withTimestamps ? sql`id, name, email, age, created_at, updated_at` : sql`id, name, email, age`
  const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
    Response.json(body, { status, headers })

  const server = Bun.serve({
    port,
    hostname,
    reusePort: process.env[WORKER_VARIABLE] !== undefined,
    routes: {
      '/': () => json({ status: 'ok' }),
      '/users': {
        GET: async (request) => {
          const query = new URL(request.url).searchParams
          const limit = Number(query.get('limit') ?? '100')
          const email = query.get('email')
          const name = query.get('name')
          const rows = await sql<UserRow[]>`
            select ${columns} from users
            where id > ${Number(query.get('after') ?? '0')}
              ${email === null ? sql`` : sql`and lower(email) = lower(${email})`}
              ${name === null ? sql`` : sql`and name ilike ${`%${escapeLike(name)}%`}`}
            order by id
            limit ${limit + 1}`
          const users = rows.slice(0, limit).map(toUser)
          if (rows.length <= limit) return json(users)
          query.set('after', String(users.at(-1)!.id))
          return json(users, 200, { link: `</users?${query}>; rel="next"` })
        },
        POST: async (request) => {
          const input = (await request.json()) as { name: string; email: string; age: number }
          const [row] = await sql<UserRow[]>`
            insert into users (name, email, age)
            values (${input.name}, ${input.email}, ${input.age})
            returning ${columns}`
          return json(toUser(row!), 201, { location: `/users/${row!.id}` })
        },
      },
      '/users/:id': {
        GET: async (request) => {
          const [row] = await sql<UserRow[]>`select ${columns} from users where id = ${Number(request.params.id)}`
          return row ? json(toUser(row)) : json({ detail: 'User not found' }, 404)
        },
        PATCH: async (request) => {
          const changes = (await request.json()) as { name?: string; email?: string; age?: number }
          const [row] = await sql<UserRow[]>`
            update users set
              name = coalesce(${changes.name ?? null}, name),
              email = coalesce(${changes.email ?? null}, email),
              age = coalesce(${changes.age ?? null}::int, age),
              updated_at = clock_timestamp()
            where id = ${Number(request.params.id)}
            returning ${columns}`
          return row ? json(toUser(row)) : json({ detail: 'User not found' }, 404)
        },
      },
    },
    fetch: () => json({ detail: 'Not found' }, 404),
  })
  console.log(JSON.stringify({ message: 'listening', url: `http://${hostname}:${server.port}`, worker: process.env[WORKER_VARIABLE] }))
  const stop = async () => {
    await server.stop()
    await sql.end({ timeout: 5 })
    process.exit(0)
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

/** Like the service's primary: run WORKERS copies on one port, pass signals on, exit with them. */
const supervise = async () => {
  const children = Array.from({ length: workers }, (_, index) =>
    Bun.spawn([process.execPath, import.meta.path], {
      env: { ...process.env, [WORKER_VARIABLE]: String(index + 1) },
      stdio: ['ignore', 'inherit', 'inherit'],
    }),
  )
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => children.forEach((child) => child.kill(signal)))
  const codes = await Promise.all(children.map((child) => child.exited))
  process.exit(codes.every((code) => code === 0) ? 0 : 1)
}

if (workers > 1 && process.env[WORKER_VARIABLE] === undefined) await supervise()
else serve()
