import { describe, expect, test } from 'bun:test'
import type { Socket } from 'bun'
import { connect, type Socket as NetSocket } from 'node:net'
import { dirname, join } from 'node:path'
import postgres from 'postgres'
import { serverPrepare, serverUrl, testDatabase } from './support/database'

// patches/postgres@3.4.9.patch fixes five faults of postgres.js 3.4.9 (the latest release) that
// the service meets under load and during database outages, and decodes a row of ASCII text at
// once; these tests fail without it.

// postgres.js keeps its connections in these queues. Unpatched, a queue that never runs empty
// (every connection busy under sustained load) grows by one slot per query and is searched from
// its start on every move: throughput fell from 59,000 to 17,000 queries/s within 16 s.
// The patch bounds it.
type Queue<T> = { readonly length: number; push(x: T): T; shift(): T; remove(x: T): T | null }
const queuePath = join(dirname(Bun.resolveSync('postgres', import.meta.dir)), 'queue.js')
const { default: createQueue } = (await import(queuePath)) as { default: <T>(initial?: T[]) => Queue<T> }

/** The longest array `indexOf` was called on while `run` ran. */
const longestSearched = (run: () => void) => {
  const indexOf = Array.prototype.indexOf
  let longest = 0
  Array.prototype.indexOf = function (this: unknown[], ...args: Parameters<typeof indexOf>) {
    longest = Math.max(longest, this.length)
    return indexOf.apply(this, args)
  }
  try {
    run()
  } finally {
    Array.prototype.indexOf = indexOf
  }
  return longest
}

describe('postgres.js connection queue (patched)', () => {
  test('a queue that never runs empty stays small while connections cycle through it', () => {
    const queue = createQueue(['a', 'b', 'c'])
    // What postgres.js does for a busy connection that takes one more query: shift it, then
    // move it back (remove from its queue, push).
    const longest = longestSearched(() => {
      for (let i = 0; i < 100_000; i++) {
        const connection = queue.shift()
        queue.remove(connection)
        queue.push(connection)
      }
    })
    expect(longest).toBeLessThan(4096)
    expect(queue.length).toBe(3)
    expect([queue.shift(), queue.shift(), queue.shift()]).toEqual(['b', 'c', 'a'])
  })

  test('order and removal stay right across compactions', () => {
    const queue = createQueue<number>()
    const model: number[] = []
    for (let i = 0; i < 50_000; i++) {
      queue.push(i)
      model.push(i)
      if (i % 2 === 0) expect(queue.shift()).toBe(model.shift()!)
      if (i % 7 === 0 && model.length > 1) {
        const middle = model[model.length >> 1]!
        expect(queue.remove(middle)).toBe(middle)
        model.splice(model.indexOf(middle), 1)
      }
      expect(queue.length).toBe(model.length)
    }
    expect(queue.remove(-1)).toBeNull()
    while (model.length > 0) expect(queue.shift()).toBe(model.shift()!)
    expect(queue.length).toBe(0)
  })
})

/** A TCP proxy to `target` that holds each new connection for `holdMs` before passing bytes on. */
const slowToConnect = (target: URL, holdMs: number) => {
  type Link = { upstream?: Socket<undefined>; pending: Uint8Array[] }
  return Bun.listen<Link>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(client) {
        client.data = { pending: [] }
        setTimeout(async () => {
          const upstream = await Bun.connect({
            hostname: target.hostname,
            port: Number(target.port || 5432),
            socket: { data: (_, chunk) => void client.write(chunk), close: () => void client.end() },
          })
          for (const chunk of client.data.pending) upstream.write(chunk)
          client.data.upstream = upstream
        }, holdMs)
      },
      data(client, chunk) {
        if (client.data.upstream) client.data.upstream.write(chunk)
        else client.data.pending.push(new Uint8Array(chunk))
      },
      close(client) {
        client.data.upstream?.end()
      },
    },
  })
}

/** What `run` gave, and how many times `Buffer#toString` was called while it ran. */
const countingToString = async <T>(run: () => Promise<T>) => {
  const toString = Buffer.prototype.toString
  let calls = 0
  Buffer.prototype.toString = function (this: Buffer, ...args: Parameters<typeof toString>) {
    calls++
    return toString.apply(this, args)
  }
  try {
    const result = await run()
    return { result, calls }
  } finally {
    Buffer.prototype.toString = toString
  }
}

// Unpatched, every value of every row is its own UTF-8 decode: on a page of 100 users that was
// the largest single item of the service's profile. A row whose bytes are all ASCII is now
// decoded once and its values cut out of it; any other row is decoded value by value, as before.
describe('postgres.js rows (patched)', () => {
  test('a row of ASCII text is decoded once, not value by value', async () => {
    const { sql } = await testDatabase()
    const page = () => sql`select g as id, 'name ' || g as name, 'user' || g || '@example.com' as email, g % 120 as age from generate_series(1, 50) g`
    await page() // prepared, its columns described
    const { result: rows, calls } = await countingToString(page)
    expect(rows.length).toBe(50)
    expect(rows[49]).toEqual({ id: 50, name: 'name 50', email: 'user50@example.com', age: 50 })
    expect(calls).toBeLessThan(10) // 200 unpatched
  })

  test('every kind of row reads the same as unpatched: non-ASCII, NULL, long values, parsed types', async () => {
    const { sql } = await testDatabase()
    const long = 'x'.repeat(200) // its length's last byte is 0xc8: not ASCII, so the row takes the per-value path
    const rows = await sql<Record<string, unknown>[]>`
      select * from (values
        (1, 'plain', 'ascii'::text, 7::int8, true, '{"a":[1,2]}'::json, '{1,2,3}'::int4[], 1.5::float8),
        (2, 'Zoë 東京', 'ünïcode'::text, 8::int8, false, '{"b":"é"}'::json, '{4}'::int4[], 2.5::float8),
        (3, null, ${long}::text, null, null, null, null, null)
      ) v(n, name, other, big, flag, doc, list, ratio) order by n`
    const list = (values: number[]) => (serverUrl ? values : `{${values.join(',')}}`) // the embedded client reads no array types
    expect([...rows]).toEqual([
      { n: 1, name: 'plain', other: 'ascii', big: '7', flag: true, doc: { a: [1, 2] }, list: list([1, 2, 3]), ratio: 1.5 },
      { n: 2, name: 'Zoë 東京', other: 'ünïcode', big: '8', flag: false, doc: { b: 'é' }, list: list([4]), ratio: 2.5 },
      { n: 3, name: null, other: long, big: null, flag: null, doc: null, list: null, ratio: null },
    ])
  })
})

// Unpatched, every parameter of a tagged query is tested against each kind of fragment, down to
// `value[0] instanceof Query` on a plain number: about 0.5 µs a parameter on Bun, a few per cent
// of an authenticated read. A plain value now goes straight to the parameters.
describe('postgres.js parameters (patched)', () => {
  test('a number is sent without being looked into', async () => {
    const { sql } = await testDatabase()
    let lookedInto = 0
    Object.defineProperty(Number.prototype, '0', { configurable: true, get: () => void lookedInto++ })
    try {
      const [row] = await sql`select ${7}::int as n`
      expect(row).toEqual({ n: 7 })
    } finally {
      delete (Number.prototype as unknown as Record<string, unknown>)['0']
    }
    expect(lookedInto).toBe(0) // 1 unpatched
  })

  test('every kind of value is sent as unpatched: plain values, null, bytes, dates, fragments, identifiers', async () => {
    const { sql } = await testDatabase()
    const fragment = sql`${'frag'}::text`
    const [row] = await sql<Record<string, unknown>[]>`
      select ${1}::int as n, ${'Zoë'}::text as s, ${null}::int as z, ${true}::bool as b, ${7n as never}::int8 as big,
        ${Buffer.from('hi')}::bytea as bytes, ${new Date('2026-01-02T03:04:05Z')}::timestamptz = '2026-01-02 03:04:05+00' as at,
        ${fragment} as f, ${sql('n')} from (select 5 as n) t`
    expect(row).toEqual({ n: 5, s: 'Zoë', z: null, b: true, big: '7', bytes: Buffer.from('hi'), at: true, f: 'frag' })
    await expect(sql`select ${undefined as never}::int`.then(() => 'sent')).rejects.toThrow('Undefined values are not allowed')
  })
})

describe.skipIf(!serverUrl)('postgres.js connection opening (patched)', () => {
  // What the request deadline does when the database is slow to accept connections: it cancels
  // the query that made the pool open one. Unpatched, that connection never joined the pool, and
  // once every connection had gone that way no query ran again.
  test('a first query cancelled while its connection opens leaves the connection usable', async () => {
    const target = new URL(serverUrl!)
    const proxy = slowToConnect(target, 300)
    const url = new URL(target)
    url.hostname = '127.0.0.1'
    url.port = String(proxy.port)
    const sql = postgres(url.href, { max: 1, onnotice: () => {} })
    try {
      const first = sql`select 1 as n`
      setTimeout(() => first.cancel(), 50)
      expect(await first.then(() => 'answered', (error: { code?: string }) => error.code)).toBe('57014')
      const second = await Promise.race([sql`select 2 as n`.then((rows) => rows[0]), Bun.sleep(5000).then(() => 'no answer in 5 s')])
      expect(second).toEqual({ n: 2 })
    } finally {
      await sql.end({ timeout: 1 })
      proxy.stop(true)
    }
  })
})

describe.skipIf(!serverUrl)('postgres.js pipelined cancel (patched)', () => {
  // What the request deadline does when a query waits behind a slow one on the same connection.
  // Unpatched, the cancelled query was dropped while its answer was still on the way, and that
  // answer went to the next query: another request's rows (a leak), and the cancelled query
  // never settled.
  test('a query cancelled behind a slow one never hands its rows to the next query', async () => {
    const sql = postgres(serverUrl!, { max: 1, onnotice: () => {}, prepare: serverPrepare })
    try {
      await sql`select 1`
      const slow = sql`select pg_sleep(0.3), 'slow' as tag`
      const cancelled = sql`select 'cancelled' as tag`
      const next = sql`select 'next' as tag`
      setTimeout(() => cancelled.cancel(), 50)
      const settled = (query: Promise<unknown>) =>
        Promise.race([query.then((rows) => [...(rows as object[])], (error: { code?: string }) => error.code), Bun.sleep(3000).then(() => 'never settled')])
      const [slowRows, cancelledOutcome, nextRows] = await Promise.all([settled(slow), settled(cancelled), settled(next)])
      expect(slowRows).toEqual([{ pg_sleep: '', tag: 'slow' }])
      // Cancelled in time (57014), or answered before the cancel arrived: either way its own answer.
      expect([JSON.stringify([{ tag: 'cancelled' }]), JSON.stringify('57014')]).toContain(JSON.stringify(cancelledOutcome))
      expect(nextRows).toEqual([{ tag: 'next' }])
    } finally {
      await sql.end({ timeout: 1 })
    }
  })
})

describe.skipIf(!serverUrl)('postgres.js without pipelining (patched)', () => {
  // What the service does behind a transaction pooler (DATABASE_PREPARE=false): max_pipeline 0,
  // nothing sent on a busy connection. Unpatched, a connection that took the BEGIN took no more,
  // so sql.begin never reserved it: every transaction failed with UNSAFE_TRANSACTION.
  test('transactions still run, and each sees its own statements', async () => {
    // Through PgBouncer in transaction mode, as CI runs it too, without prepared statements.
    const sql = postgres(serverUrl!, { max: 2, onnotice: () => {}, max_pipeline: 0, prepare: serverPrepare })
    try {
      const answers = await Promise.all(
        [1, 2, 3].map((n) => sql.begin(async (tx) => [await tx`select set_config('app.n', ${String(n)}, true)`, (await tx`select current_setting('app.n') as n`)[0]])),
      )
      expect(answers.map(([, row]) => row)).toEqual([{ n: '1' }, { n: '2' }, { n: '3' }])
    } finally {
      await sql.end({ timeout: 1 })
    }
  })
})

describe.skipIf(!serverUrl)('postgres.js connection closing (patched)', () => {
  // What killed backends do under load: the server closes a connection while a query is being
  // given to it. Unpatched, the query's bytes, not written yet, stayed in the connection's buffer
  // and its write timer stayed set, so the next socket's startup message was never written: the
  // connection was lost to the pool, and each query given to it waited for its deadline (503).
  test('a connection closed with a write pending opens again and answers', async () => {
    const target = new URL(serverUrl!)
    const sockets: NetSocket[] = []
    // Each connection's socket, made here to be closed at will.
    const socket = () =>
      new Promise<NetSocket>((resolve, reject) => {
        const made = connect(Number(target.port || 5432), target.hostname, () => resolve(made)).once('error', reject)
        sockets.push(made)
      })
    const sql = postgres(target.href, { max: 1, onnotice: () => {}, socket })
    try {
      expect(await sql`select 1 as n`.then((rows) => [...rows])).toEqual([{ n: 1 }])
      const lost = sql`select 2 as n`.then(
        () => 'answered',
        (error: { code?: string }) => error.code,
      )
      for (let tick = 0; tick < 5; tick++) await null // the query is given to the connection
      // Bun reports a peer's close in its I/O phase, which can come before the write is flushed;
      // a test cannot time the server, so it reports the close itself, then closes.
      sockets[0]!.emit('close', false)
      sockets[0]!.destroy()
      expect(await lost).toBe('CONNECTION_CLOSED')
      const next = await Promise.race([sql`select 3 as n`.then((rows) => [...rows]), Bun.sleep(3000).then(() => 'no answer in 3 s')])
      expect(next).toEqual([{ n: 3 }])
      expect(sockets.length).toBe(2)
    } finally {
      await sql.end({ timeout: 1 })
    }
  })
})
