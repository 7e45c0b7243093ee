/**
 * The benchmark's own database: `users_api_bench`, created on the server in DATABASE_URL and
 * dropped at the end, so the server's other databases are never written to.
 */
import postgres, { type Sql } from 'postgres'
import { migrate } from '../src/db/migrate'

export const BENCH_DATABASE = 'users_api_bench'
/** Used when DATABASE_URL is unset; the report says so. */
export const DEFAULT_SERVER_URL = 'postgres://postgres@127.0.0.1:5432/postgres'
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken', 'Dennis', 'Frances']
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Thompson', 'Ritchie', 'Allen',
  'Backus', 'Kay', 'Lamport', 'Milner', 'Naur', 'Perlis', 'Rivest', 'Shamir', 'Adleman', 'Hoare',
  'Wirth', 'McCarthy', 'Minsky', 'Floyd', 'Tarjan', 'Hartmanis', 'Stearns', 'Karp', 'Cook', 'Levin',
  'Yao', 'Valiant', 'Pnueli', 'Engelbart', 'Cerf', 'Kahn', 'Sutherland', 'Corbato', 'Codd', 'Gray',
  'Stonebraker', 'Hellman', 'Diffie', 'Lampson', 'Clarke', 'Emerson', 'Sifakis', 'Pearl', 'Bengio', 'Hinton']
/** Each matches 1 in 50 seeded users, so a `name` page of 20 is found in about 1,000 rows. */
export const SEEDED_LAST_NAMES = LAST

/** The server's URL with another database in its path. */
export const withDatabase = (url: string, database: string) => {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

/** The benchmark talks to this machine only. */
export const assertLocal = (url: string) => {
  const host = new URL(url).hostname
  if (!LOCAL_HOSTS.has(host)) throw new Error(`the benchmark runs against 127.0.0.1 only; DATABASE_URL names ${host}`)
}

/** Creates (again) the benchmark database on the server and applies the service's migrations. */
export const createBenchDatabase = async (serverUrl: string) => {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  try {
    await admin`drop database if exists ${admin(BENCH_DATABASE)} with (force)`
    await admin`create database ${admin(BENCH_DATABASE)}`
  } finally {
    await admin.end({ timeout: 5 })
  }
  const url = withDatabase(serverUrl, BENCH_DATABASE)
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    await migrate(sql)
  } finally {
    await sql.end({ timeout: 5 })
  }
  return url
}

export const dropBenchDatabase = async (serverUrl: string) => {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  try {
    await admin`drop database if exists ${admin(BENCH_DATABASE)} with (force)`
  } finally {
    await admin.end({ timeout: 5 })
  }
}

/**
 * Empties `users` and fills it with `count` users (ids 1..count) in one statement: names from
 * the lists above, emails `user<id>@example.com`, ages 1–120.
 */
export const seedUsers = async (sql: Sql, count: number) => {
  await sql`truncate users restart identity`
  await addUsers(sql, 1, count)
}

/** Adds users numbered `from`..`to` (their ids, in an empty table) as `seedUsers` does. */
export const addUsers = async (sql: Sql, from: number, to: number) => {
  await sql`
    insert into users (name, email, age)
    select (${FIRST}::text[])[1 + g % ${FIRST.length}] || ' ' || (${LAST}::text[])[1 + (g / ${FIRST.length}) % ${LAST.length}],
           'user' || g || '@example.com',
           1 + g % 120
    from generate_series(${from}::int, ${to}::int) g`
  await sql`vacuum analyze users`.catch(() => sql`analyze users`)
}
