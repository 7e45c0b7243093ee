/**
 * EXPLAIN of the service's list and read queries (the SQL of src/users/service.ts) as the
 * benchmark sends them: which scans serve them, and whether any reads the whole table.
 */
import type { Sql } from 'postgres'

/** The scan nodes of a plan, e.g. "Index Scan using users_pkey on users". */
const scanNodes = (lines: string[]) =>
  lines
    .filter((line) => /Scan/.test(line))
    .map((line) => line.replace(/^[\s->]*/, '').replace(/\s+\(cost.*$/, ''))
    .join('; ')

const scans = async (sql: Sql, query: ReturnType<Sql>) =>
  scanNodes(((await query) as unknown as { 'QUERY PLAN': string }[]).map((row) => row['QUERY PLAN']))

/** Scenario name → the scans in its plan, for the scale table. */
export const explainReads = async (sql: Sql, users: number): Promise<Record<string, string>> => {
  const columns = sql`id, name, email, age, created_at, updated_at`
  const middle = Math.floor(users / 2)
  return {
    'GET /users?after=…': await scans(sql, sql`explain select ${columns} from users where id > ${middle} order by id limit 101`),
    'GET /users/{random id}': await scans(sql, sql`explain select ${columns} from users where id = ${middle}`),
    'GET /users?email=…': await scans(
      sql,
      sql`explain select ${columns} from users where id > ${0} and lower(email) = lower(${`user${middle}@example.com`}) order by id limit 101`,
    ),
    'GET /users?name=…&limit=20': await scans(
      sql,
      sql`explain select ${columns} from users where id > ${0} and name ilike ${'%hopper%'} order by id limit 21`,
    ),
  }
}

/**
 * The `name` filter's worst case, a substring nobody has (without the trigram index, every row is
 * read): timed once with EXPLAIN ANALYZE rather than put under load.
 */
export const timeNameMiss = async (sql: Sql) => {
  const rows = (await sql`
    explain analyze select id, name, email, age, created_at, updated_at from users
    where id > ${0} and name ilike ${'%nobody-has-this%'} order by id limit 21`) as unknown as { 'QUERY PLAN': string }[]
  const lines = rows.map((row) => row['QUERY PLAN'])
  const time = lines.find((line) => line.startsWith('Execution Time'))
  return { scans: scanNodes(lines), ms: time === undefined ? Number.NaN : Number.parseFloat(time.replace('Execution Time: ', '')) }
}
