import { describe, expect, test } from 'bun:test'
import postgres, { type Sql } from 'postgres'
import { DatabaseTimeout, beginWithin, withDeadline } from '../src/db/deadline'
import { serverPrepare, serverUrl } from './support/database'

// A cancel aimed at an earlier query can land on the next one on the same connection; here
// another session cancels the backend on purpose, which looks the same to the query.
// Through a transaction pooler (DATABASE_PREPARE=false) a backend pid is not one client's session.
describe.skipIf(!serverUrl || !serverPrepare)('request deadline on a PostgreSQL server', () => {
  const cancelBackendSoon = (url: string, pid: number, afterMs: number) =>
    Bun.sleep(afterMs).then(async () => {
      const admin = postgres(url, { max: 1, onnotice: () => {} })
      try {
        await admin`select pg_cancel_backend(${pid})`
      } finally {
        await admin.end({ timeout: 1 })
      }
    })

  /** Runs `use` on a client of one connection, whose server process is `pid`. */
  const onOneConnection = async (use: (sql: Sql, pid: number) => Promise<void>) => {
    const sql = postgres(serverUrl!, { max: 1, onnotice: () => {} })
    try {
      await use(sql, (await sql<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]!.pid)
    } finally {
      await sql.end({ timeout: 1 })
    }
  }

  test('a query stopped by a cancel it did not ask for runs once more and answers', () =>
    onOneConnection(async (sql, pid) => {
      let attempts = 0
      const cancelled = cancelBackendSoon(serverUrl!, pid, 100)
      const rows = await withDeadline(() => (attempts++, sql`select pg_sleep(0.3), 'answered' as tag`), 5000)
      await cancelled
      expect(attempts).toBe(2)
      expect([...rows]).toEqual([{ pg_sleep: '', tag: 'answered' }])
    }))

  // A delete racing a refresh deadlocked now and then (each locks a row the other needs next):
  // the server aborts one statement to let the other go on, and that one had no effect.
  test('a statement aborted to break a deadlock runs once more and answers', () =>
    onOneConnection(async (sql) => {
      const table = `deadlock_${crypto.randomUUID().replaceAll('-', '')}`
      await sql`create table ${sql(table)} (id int primary key, v int)`
      await sql`insert into ${sql(table)} values (1, 0), (2, 0)`
      const other = postgres(serverUrl!, { max: 1, onnotice: () => {} })
      try {
        const holder = await other.reserve()
        await holder`begin`
        await holder`update ${other(table)} set v = 1 where id = 1`
        let attempts = 0
        // Row 2, then row 1, which the holder has: it waits, and (waiting first) finds the deadlock.
        const answered = withDeadline(
          () => (attempts++, sql`with first as (update ${sql(table)} set v = 2 where id = 2 returning id) update ${sql(table)} set v = 2 where id = 1 and exists (select 1 from first) returning id`),
          10_000,
        )
        await Bun.sleep(200)
        await holder`update ${other(table)} set v = 1 where id = 2`
        await holder`commit`
        holder.release()
        expect([...(await answered)]).toEqual([{ id: 1 }])
        expect(attempts).toBe(2)
      } finally {
        await other.end({ timeout: 1 })
        await sql`drop table ${sql(table)}`
      }
    }))

  test('a second cancel is passed on: no endless retrying', () =>
    onOneConnection(async (sql, pid) => {
      let attempts = 0
      const cancels = Promise.all([cancelBackendSoon(serverUrl!, pid, 100), cancelBackendSoon(serverUrl!, pid, 600)])
      const outcome = await withDeadline(() => (attempts++, sql`select pg_sleep(1)`), 5000).then(
        () => 'answered',
        (error: { code?: string }) => error.code,
      )
      await cancels
      expect(attempts).toBe(2)
      expect(outcome).toBe('57014')
    }))

  test('inTransaction: a cancelled statement is not run again (its transaction is aborted); the 57014 is passed on', () =>
    onOneConnection(async (sql, pid) => {
      let attempts = 0
      const cancelled = cancelBackendSoon(serverUrl!, pid, 100)
      const outcome = await sql
        .begin((tx) => withDeadline(() => (attempts++, tx`select pg_sleep(0.3)`), 5000, { inTransaction: true }))
        .then(
          () => 'answered',
          (error: { code?: string }) => error.code,
        )
      await cancelled
      expect(attempts).toBe(1)
      expect(outcome).toBe('57014')
    }))

  test('past the deadline: DatabaseTimeout, and the query is cancelled on the server', () =>
    onOneConnection(async (sql) => {
      const started = performance.now()
      const outcome = await withDeadline(() => sql`select pg_sleep(5)`, 300).catch((error) => error)
      expect(outcome).toBeInstanceOf(DatabaseTimeout)
      expect(outcome.code).toBe('DEADLINE_EXCEEDED')
      // The connection is free again long before pg_sleep(5) would have ended. Through withDeadline,
      // as the service sends every query: on a loaded machine the cancel can land on this one.
      expect([...(await withDeadline(() => sql`select 'free' as tag`, 3000))]).toEqual([{ tag: 'free' }])
      expect(performance.now() - started).toBeLessThan(3000)
    }))
})

describe.skipIf(!serverUrl)('beginWithin on a PostgreSQL server', () => {
  test('a transaction still waiting for a connection at its deadline: DatabaseTimeout, and its body never runs', async () => {
    const sql = postgres(serverUrl!, { max: 1, onnotice: () => {} })
    try {
      const held = await sql.reserve()
      let ran = false
      const outcome = await beginWithin(sql, 200, async (tx) => {
        ran = true
        return tx`select 1 as one`
      }).catch((error) => error)
      expect(outcome).toBeInstanceOf(DatabaseTimeout)
      held.release()
      // The connection is free again: a transaction still queued for it would start now.
      expect([...(await sql`select 'free' as tag`)]).toEqual([{ tag: 'free' }])
      await Bun.sleep(100)
      expect(ran).toBe(false)
    } finally {
      await sql.end({ timeout: 1 })
    }
  })
})
