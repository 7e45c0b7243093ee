/**
 * The benchmark's own database, `users_api_bench`, on the server in DATABASE_URL and dropped at the
 * end, so the server's other databases are never written to; and the users it is filled with.
 */
import postgres, { type Sql } from 'postgres'
import { migrate } from '../src/db/migrate'
import { createServerDatabase } from '../test/support/database'

/** Used when DATABASE_URL is unset; the report says so. */
export const DEFAULT_SERVER_URL = 'postgres://postgres@127.0.0.1:5432/postgres'
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

const FIRST_NAMES = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken', 'Dennis', 'Frances']
/** Each matches 1 in 50 seeded users, so a `name` page of 20 is found in about 1,000 rows. */
export const SEEDED_LAST_NAMES = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Thompson', 'Ritchie', 'Allen',
  'Backus', 'Kay', 'Lamport', 'Milner', 'Naur', 'Perlis', 'Rivest', 'Shamir', 'Adleman', 'Hoare',
  'Wirth', 'McCarthy', 'Minsky', 'Floyd', 'Tarjan', 'Hartmanis', 'Stearns', 'Karp', 'Cook', 'Levin',
  'Yao', 'Valiant', 'Pnueli', 'Engelbart', 'Cerf', 'Kahn', 'Sutherland', 'Corbato', 'Codd', 'Gray',
  'Stonebraker', 'Hellman', 'Diffie', 'Lampson', 'Clarke', 'Emerson', 'Sifakis', 'Pearl', 'Bengio', 'Hinton']

/** The benchmark talks to this machine only. */
export const assertLocal = (url: string) => {
  const host = new URL(url).hostname
  if (!LOCAL_HOSTS.has(host)) throw new Error(`the benchmark runs against 127.0.0.1 only; DATABASE_URL names ${host}`)
}

/**
 * Creates the benchmark database (again: one a killed run left is replaced) and applies the
 * service's migrations; `drop()` removes it.
 */
export const createBenchDatabase = async (serverUrl: string) => {
  const database = await createServerDatabase(serverUrl, 'bench', { fixedName: true })
  const sql = postgres(database.url, { max: 1, onnotice: () => {} })
  try {
    await migrate(sql)
  } finally {
    await sql.end({ timeout: 5 })
  }
  return database
}

/**
 * Empties `users` and fills it with `count` users (ids 1..count) in one statement: names from
 * the lists above, emails `user<id>@example.com`, ages 1–120.
 */
export const seedUsers = async (sql: Sql, count: number) => {
  await sql`truncate users, refresh_tokens restart identity`
  // The lists go as text and are split by the server: the embedded database's connections do not
  // fetch array types (src/db/connect.ts), so a JavaScript array would not arrive as one.
  await sql`
    insert into users (name, email, age)
    select (string_to_array(${FIRST_NAMES.join(',')}, ','))[1 + g % ${FIRST_NAMES.length}] || ' ' ||
             (string_to_array(${SEEDED_LAST_NAMES.join(',')}, ','))[1 + (g / ${FIRST_NAMES.length}) % ${SEEDED_LAST_NAMES.length}],
           'user' || g || '@example.com',
           1 + g % 120
    from generate_series(1, ${count}::int) g`
  await sql`vacuum analyze users`.catch(() => sql`analyze users`)
}
