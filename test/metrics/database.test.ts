import { afterAll, describe, expect, test } from 'bun:test'
import postgres from 'postgres'
import { beginWithin, withDeadline } from '../../src/db/deadline'
import { observeQueries } from '../../src/db/observe'
import { freePort } from '../../src/free-port'
import { databaseMetrics } from '../../src/metrics/database'
import { createServiceMetrics } from '../../src/metrics/registry'
import { testDatabase } from '../support/database'
import { labelSets, sampleValue } from '../support/metrics'

// Queries through the deadline wrapper on the suite's database, watched by the metrics observer.
const metrics = createServiceMetrics({ poolMax: 2 })
const observer = databaseMetrics(metrics, 2)
const stopObserving = observeQueries(observer)
afterAll(stopObserving)
const text = () => metrics.registry.metrics()

describe('databaseMetrics(metrics, poolMax)', () => {
  test('queries through withDeadline are timed by their SQL verb; failures counted by kind', async () => {
    const { sql } = await testDatabase()
    await withDeadline(() => sql`select 1`, 2000)
    await withDeadline(() => sql`  SELECT 2`, 2000)
    await withDeadline(() => sql`with x as (select 1) select * from x`, 2000)
    const email = `observed-${crypto.randomUUID()}@example.com`
    await withDeadline(() => sql`insert into users (name, email, age) values ('Observed', ${email}, 20)`, 2000)
    const taken = withDeadline(() => sql`insert into users (name, email, age) values ('Observed', ${email}, 21)`, 2000)
    expect(taken).rejects.toMatchObject({ code: '23505' })
    await taken.catch(() => {})
    const slow = withDeadline(() => sql`select pg_sleep(1)`, 100)
    expect(slow).rejects.toMatchObject({ name: 'DatabaseTimeout' })
    await slow.catch(() => {})
    const broken = withDeadline(() => sql`select nonsense_column from users`, 2000)
    expect(broken).rejects.toMatchObject({ code: '42703' })
    await broken.catch(() => {})

    const current = await text()
    expect(sampleValue(current, 'db_client_operation_duration_seconds_count', { operation: 'select' })).toBe(4)
    expect(sampleValue(current, 'db_client_operation_duration_seconds_count', { operation: 'with' })).toBe(1)
    expect(sampleValue(current, 'db_client_operation_duration_seconds_count', { operation: 'insert' })).toBe(2)
    expect(labelSets(current, 'db_client_errors_total').sort()).toEqual([
      'operation="insert",kind="constraint"',
      'operation="select",kind="other"',
      'operation="select",kind="timeout"',
    ])
    // No statement text, no value: the labels are the verb and the kind only.
    expect(current).not.toContain(email)
    expect(current).not.toContain('pg_sleep')
  })

  test('an unreachable server counts as unavailable', async () => {
    const nowhere = postgres({ host: '127.0.0.1', port: freePort(), max: 1, connect_timeout: 2, onnotice: () => {} })
    try {
      const refused = withDeadline(() => nowhere`select 1`, 3000)
      expect(refused).rejects.toMatchObject({ code: 'ECONNREFUSED' })
      await refused.catch(() => {})
    } finally {
      await nowhere.end({ timeout: 1 })
    }
    expect(sampleValue(await text(), 'db_client_errors_total', { operation: 'select', kind: 'unavailable' })).toBe(1)
  })

  test('of the queries under way, at most the pool size are busy and the rest wait', async () => {
    const ends = [observer('select'), observer('select'), observer('update')]
    expect(sampleValue(await text(), 'db_client_connections_busy')).toBe(2)
    expect(sampleValue(await text(), 'db_client_connections_waiting')).toBe(1)
    ends[0]!()
    expect(sampleValue(await text(), 'db_client_connections_busy')).toBe(2)
    expect(sampleValue(await text(), 'db_client_connections_waiting')).toBe(0)
    ends[1]!()
    ends[2]!(new Error('gone'))
    expect(sampleValue(await text(), 'db_client_connections_busy')).toBe(0)
    expect(sampleValue(await text(), 'db_client_errors_total', { operation: 'update', kind: 'other' })).toBe(1)
  })

  test('queries in a transaction (beginWithin) are watched too, once each, when they run; a fragment is not a query', async () => {
    const { sql } = await testDatabase()
    const count = async (operation: string) => sampleValue(await text(), 'db_client_operation_duration_seconds_count', { operation }) ?? 0
    const [selects, deletes, errors] = [await count('select'), await count('delete'), sampleValue(await text(), 'db_client_errors_total', { operation: 'with', kind: 'other' }) ?? 0]
    const rows = await beginWithin(sql, 2000, async (tx) => {
      const fragment = tx`id = ${-1}`
      await tx`select 1`
      await tx`delete from users where ${fragment}`
      // Returned unawaited, as the service's transactions do: awaited by the transaction itself.
      return tx`select 2 as two`
    })
    expect([...rows]).toEqual([{ two: 2 }])
    expect(await count('select')).toBe(selects + 2)
    expect(await count('delete')).toBe(deletes + 1)
    const failed = beginWithin(sql, 2000, async (tx) => tx`with x as (select nonsense_column from users) select * from x`)
    expect(failed).rejects.toMatchObject({ code: '42703' })
    await failed.catch(() => {})
    expect(sampleValue(await text(), 'db_client_errors_total', { operation: 'with', kind: 'other' })).toBe(errors + 1)
  })
})
