import { describe, expect, test } from 'bun:test'
import { dirname, join } from 'node:path'

// postgres.js keeps its connections in these queues. Unpatched, a queue that never runs empty
// (every connection busy under sustained load) grows by one slot per query and is searched from
// its start on every move: throughput fell from 59,000 to 17,000 queries/s within 16 s.
// patches/postgres@3.4.9.patch bounds it; these tests fail if the patch is not applied.
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
