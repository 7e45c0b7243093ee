import { afterEach, beforeEach, describe, expect, setSystemTime, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger, type LoggerOptions } from '../src/logger'

const savedTz = process.env.TZ
// A fixed clock and zone, so the time in a pretty line is known exactly.
beforeEach(() => {
  process.env.TZ = 'UTC'
  setSystemTime(new Date('2026-03-04T12:01:02.345Z'))
})
afterEach(() => {
  setSystemTime()
  process.env.TZ = savedTz
})

/** A logger writing into an array, as the service writes to stdout. */
const capture = (options?: LoggerOptions) => {
  const lines: string[] = []
  const logger = createLogger('debug', { write: (line: string) => void lines.push(line) }, options)
  return { logger, lines }
}

const request = { request_id: '0b7c5b56-7d5e-4bb4-9c55-1d7bd8e0e0a1', method: 'GET', route: '/users/:id', status: 200, duration_ms: 1.2 }

describe('logger', () => {
  test('pretty: a request is method, route, status and duration', () => {
    const { logger, lines } = capture({ pretty: true })
    logger.info('request', request)
    logger.info('request', { request_id: 'x', method: 'POST', route: '/users', status: 201 })
    expect(lines).toEqual(['12:01:02.345 INFO  GET /users/:id 200 1.2ms\n', '12:01:02.345 INFO  POST /users 201\n'])
  })

  test('pretty: other events are the message, then key=value', () => {
    const { logger, lines } = capture({ pretty: true })
    logger.warn('database unavailable', { request_id: 'abc-1', error: 'Error: connect ECONNREFUSED 127.0.0.1:5432' })
    logger.debug('listening', { url: 'http://127.0.0.1:8000', database: 'server', worker: 2, applied: ['0001_create_users'] })
    logger.error('stopped', { drained: false, note: 'a=b', empty: '' })
    expect(lines).toEqual([
      '12:01:02.345 WARN  database unavailable request_id=abc-1 error="Error: connect ECONNREFUSED 127.0.0.1:5432"\n',
      '12:01:02.345 DEBUG listening url=http://127.0.0.1:8000 database=server worker=2 applied=["0001_create_users"]\n',
      '12:01:02.345 ERROR stopped drained=false note="a=b" empty=""\n',
    ])
  })

  test('pretty: a nested error is flattened and its stack printed under the line', () => {
    const { logger, lines } = capture({ pretty: true })
    const stack = 'Error: boom\n    at handler (src/users/routes.ts:10:5)'
    logger.error('unexpected error', { request_id: 'r1', error: { name: 'Error', message: 'boom', stack } })
    expect(lines).toEqual([`12:01:02.345 ERROR unexpected error request_id=r1 error.name=Error error.message=boom\n${stack}\n`])
  })

  test('pretty with colour: only the time and the level are painted', () => {
    const { logger, lines } = capture({ pretty: true, colour: true })
    logger.warn('database unavailable', { request_id: 'r2' })
    expect(lines).toEqual(['\x1b[2m12:01:02.345\x1b[0m \x1b[33mWARN \x1b[0m database unavailable request_id=r2\n'])
  })

  test('pretty=false, and the default for a destination passed in: JSON lines as before', () => {
    for (const options of [{ pretty: false }, undefined]) {
      const { logger, lines } = capture(options)
      logger.info('request', request)
      logger.warn('database unavailable', { request_id: 'abc-1', error: 'Error: down' })
      expect(lines).toEqual([
        '{"level":"info","time":"2026-03-04T12:01:02.345Z","request_id":"0b7c5b56-7d5e-4bb4-9c55-1d7bd8e0e0a1","method":"GET","route":"/users/:id","status":200,"duration_ms":1.2,"message":"request"}\n',
        '{"level":"warn","time":"2026-03-04T12:01:02.345Z","request_id":"abc-1","error":"Error: down","message":"database unavailable"}\n',
      ])
    }
  })

  test('below the level nothing is written, pretty or not', () => {
    for (const pretty of [true, false]) {
      const lines: string[] = []
      const logger = createLogger('warn', { write: (line: string) => void lines.push(line) }, { pretty })
      logger.info('request', request)
      logger.debug('detail')
      expect(lines).toEqual([])
    }
  })
})

describe('stdout in batches', () => {
  // A child process logs with the service's own stdout logger, then ends as the case says.
  const script = (ending: string) => `
    import { createLogger } from ${JSON.stringify(`${import.meta.dir}/../src/logger.ts`)}
    const logger = createLogger('info')
    for (let i = 0; i < 500; i++) logger.info('line', { i })
    ${ending}`
  const run = async (ending: string) => {
    const child = Bun.spawn([process.execPath, '-e', script(ending)], { stdout: 'pipe', stderr: 'ignore', env: { PATH: process.env.PATH ?? '' } })
    const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited])
    return { lines: out.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { message: string; i: number }), code }
  }

  test('no line is lost when the process ends: by itself, by process.exit, by an uncaught error', async () => {
    for (const [ending, exitCode] of [['', 0], ['process.exit(3)', 3], ["throw new Error('boom')", 1]] as const) {
      const { lines, code } = await run(ending)
      expect(code).toBe(exitCode)
      expect(lines.map((line) => line.i)).toEqual(Array.from({ length: 500 }, (_, i) => i))
      expect(lines.every((line) => line.message === 'line')).toBe(true)
    }
  })

  test('a line written while the process runs on appears within the batch time, unprompted', async () => {
    const { lines, code } = await run(`
      await Bun.sleep(300)
      process.kill(process.pid, 'SIGKILL')`)
    // Killed outright 300 ms after the lines: they were written out by then, not at exit.
    expect(code).toBe(137)
    expect(lines).toHaveLength(500)
  })

  /**
   * Runs `copies` children that each log `lines` lines of 200 characters into one pipe, which
   * nobody reads until every child has said on stderr that it got through its lines and 50 timer
   * ticks of 1 ms (or 20 s have passed). Returns whether they all said so in time, and then the
   * lines read.
   */
  const throughUnreadPipe = async (copies: number, lines: number) => {
    const dir = mkdtempSync(join(tmpdir(), 'users-api-pipe-'))
    const go = join(dir, 'go')
    Bun.spawnSync(['mkfifo', go])
    const child = `import { createLogger } from ${JSON.stringify(`${import.meta.dir}/../src/logger.ts`)}
      const logger = createLogger('info')
      const padding = 'x'.repeat(150)
      for (let i = 0; i < ${lines}; i++) logger.info('line', { copy: process.pid, i, padding })
      for (let tick = 0; tick < 50; tick++) await Bun.sleep(1)
      console.error('done')`
    // The reader waits for the fifo: it starts only when this test opens it.
    const writers = Array.from({ length: copies }, () => '"$0" -e "$1" &').join(' ')
    const shell = Bun.spawn(['sh', '-c', `( ${writers} wait ) | ( cat "$2" > /dev/null; cat )`, process.execPath, child, go], {
      stdout: 'pipe',
      stderr: 'pipe',
      env: { PATH: process.env.PATH ?? '' },
    })
    try {
      let said = ''
      const saidAll = (async () => {
        for await (const chunk of shell.stderr) {
          said += new TextDecoder().decode(chunk)
          if (said.split('done').length - 1 === copies) return true
        }
        return false
      })()
      const inTime = await Promise.race([saidAll, Bun.sleep(20_000).then(() => false)])
      writeFileSync(go, '')
      const out = await new Response(shell.stdout).text()
      expect(await shell.exited).toBe(0)
      return { inTime, lines: out.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { copy: number; i: number }) }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }

  test(
    'a full pipe does not stop the process: the lines wait, and all of them arrive once it is read',
    async () => {
      // 4,000 lines (800 kB, many times a pipe's 64 KiB): pino's own destination, asleep 100 ms
      // at a time while the pipe is full, never gets through them before the pipe is read.
      const { inTime, lines } = await throughUnreadPipe(1, 4000)
      expect(inTime).toBe(true)
      expect(lines.map((line) => line.i)).toEqual(Array.from({ length: 4000 }, (_, i) => i))
    },
    { timeout: 60_000 },
  )

  test(
    'processes sharing one stdout never cut into a line of another',
    async () => {
      // Workers share the service's stdout. Three processes, 8,000 lines each, into a pipe read late:
      // every line read is whole JSON, and each process's lines all arrive, in order.
      const { inTime, lines } = await throughUnreadPipe(3, 8000)
      expect(inTime).toBe(true)
      const copies = [...new Set(lines.map((line) => line.copy))]
      expect(copies).toHaveLength(3)
      for (const copy of copies)
        expect(lines.filter((line) => line.copy === copy).map((line) => line.i)).toEqual(Array.from({ length: 8000 }, (_, i) => i))
    },
    { timeout: 60_000 },
  )
})

test('the stdout destination is made once per process, even when the module is evaluated again (dev reloads)', async () => {
  const before = process.listenerCount('exit')
  for (const copy of ['a', 'b', 'c']) {
    const { createLogger: again } = (await import(`../src/logger.ts?copy=${copy}`)) as typeof import('../src/logger')
    again('error')
  }
  expect(process.listenerCount('exit') - before).toBeLessThanOrEqual(1)
})
