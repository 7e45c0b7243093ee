import { describe, expect, test } from 'bun:test'
import { openDatabase } from '../../src/db/connect'
import { createServerDatabase, serverPrepare, serverUrl } from '../support/database'
import { pgbouncerAvailable, startPgBouncer } from '../support/pgbouncer'

// Behind a transaction pooler the server connection goes back to the pool at the end of each
// statement. postgres.js pipelines (sends a statement on a busy connection before the one before
// it is answered) when every connection is busy: through PgBouncer that answer went to no one,
// and the statement waited until the request deadline. With DATABASE_PREPARE=false the service
// does not pipeline. This runs when the suite is on a server directly (not when the suite itself
// goes through PgBouncer), and where Debian's pgbouncer is installed.
describe.skipIf(!pgbouncerAvailable || !serverUrl || !serverPrepare)('behind PgBouncer in transaction mode', () => {
  test('many statements and transactions at once on a pool of two: each answered, with its own rows', async () => {
    const created = await createServerDatabase(serverUrl!, 'pooler')
    const bouncer = await startPgBouncer(created.url)
    const database = await openDatabase({ url: bouncer.url, dataDir: '', poolMax: 2, prepare: false })
    const { sql } = database
    try {
      // A statement without parameters leaves its connection open to another (one with
      // parameters is described first, and nothing is sent behind it): the mix pipelines.
      const work = Array.from({ length: 40 }, (_, i) =>
        i % 8 === 0
          ? sql.begin(async (tx) => (await tx<{ i: number }[]>`select ${i}::int as i`)[0]!.i)
          : i % 2 === 1
            ? sql.unsafe<{ i: number }[]>(`select pg_sleep(0.002), ${i} as i`).then(([row]) => row!.i)
            : sql<{ i: number }[]>`select pg_sleep(0.002), ${i}::int as i`.then(([row]) => row!.i),
      )
      const answered = await Promise.race([Promise.all(work), Bun.sleep(10_000).then(() => 'not all answered within 10 s')])
      expect(answered).toEqual(Array.from({ length: 40 }, (_, i) => i))
    } finally {
      await database.close()
      await bouncer.stop()
      await created.drop()
    }
  }, 30_000)
})
