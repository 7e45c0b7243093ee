import { copyFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expectDocumented } from './contract'
import { readLines } from './lines'

/**
 * The service under test: `bun src/main.ts`, or with `USERS_API_BIN` the compiled binary, run
 * from an empty directory as a user who copied it there would.
 */
const binary = process.env.USERS_API_BIN
const cwd = binary ? mkdtempSync(join(tmpdir(), 'users-api-bin-')) : undefined
if (binary) copyFileSync(binary, join(cwd!, 'users-api'))
const command = binary ? [join(cwd!, 'users-api')] : ['bun', join(import.meta.dir, '..', '..', 'src', 'main.ts')]
/** How to start the service under test, and where (`cwd`). */
export const serviceCommand = { command, cwd }
/** The directory the binary runs in (undefined when testing `bun src/main.ts`). */
export const binaryDir = cwd
export const underTest = binary ? `the binary ${binary}, copied alone into ${cwd}` : 'bun src/main.ts'

export interface Service {
  url: string
  process: Bun.Subprocess<'ignore', 'pipe', 'pipe'>
  /** Every line the service logged so far. */
  lines: string[]
  stop(signal?: NodeJS.Signals): Promise<number>
}

/** The environment with `overrides`; `undefined` removes a variable. */
const environment = (overrides: Record<string, string | undefined>) => {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries({ ...process.env, ...overrides })) if (value !== undefined) env[key] = value
  return env
}

/** Runs `bun src/main.ts` with `args` to its end, `stdin` its standard input. */
export const runMain = async (args: string[], env: Record<string, string | undefined>, stdin?: string) => {
  const child = Bun.spawn([...command, ...args], { cwd, env: environment(env), stdout: 'pipe', stderr: 'pipe', stdin: stdin === undefined ? 'ignore' : new TextEncoder().encode(stdin) })
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  return { code, stdout, stderr }
}

/**
 * Starts the service on a free port and waits until it says where it listens. Metrics are off
 * unless `env` sets `METRICS_PORT`: services started side by side must not race for its default.
 */
export const startService = async (env: Record<string, string | undefined>): Promise<Service> => {
  const child = Bun.spawn(command, { cwd, env: environment({ PORT: '0', HOST: '127.0.0.1', METRICS_PORT: '0', ...env }), stdout: 'pipe', stderr: 'pipe' })
  const lines: string[] = []
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start: ${lines.join('\n')}`)), 30_000)
    ;(async () => {
      for await (const line of readLines(child.stdout)) {
        lines.push(line)
        const event = JSON.parse(line)
        if (event.message === 'listening') {
          clearTimeout(timer)
          resolve(event.url)
        }
      }
      reject(new Error(`service exited: ${lines.join('\n')}${await new Response(child.stderr).text()}`))
    })().catch(reject)
  })
  return {
    url,
    process: child,
    lines,
    async stop(signal = 'SIGTERM') {
      child.kill(signal)
      return child.exited
    },
  }
}

/** Polls `GET /readyz` until it answers 200; returns the milliseconds that took. */
export const waitReady = async (url: string, timeoutMs = 20_000) => {
  const start = performance.now()
  while (performance.now() - start < timeoutMs) {
    const status = await fetch(`${url}/readyz`).then((response) => response.status, () => 0)
    if (status === 200) return performance.now() - start
    await Bun.sleep(50)
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms`)
}

/**
 * Logs in at a running service and returns the access token; retries for a while, since a service
 * that is listening may not be ready yet (the migrations and the first admin come after).
 */
export const logIn = async (url: string, email: string, password: string, timeoutMs = 20_000) => {
  const start = performance.now()
  for (;;) {
    const response = await fetch(`${url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })
    if (response.status === 200) return ((await response.json()) as { access_token: string }).access_token
    if (performance.now() - start > timeoutMs) throw new Error(`log-in at ${url} gave ${response.status}: ${await response.text()}`)
    await Bun.sleep(200)
  }
}

/** `fetch` from a running service, the response checked against the OpenAPI document it serves. */
export const checkedFetch = async (url: string, init: RequestInit = {}) => {
  const response = await fetch(url, init)
  await expectDocumented(new Request(url, { method: init.method }), response, () => fetch(new URL('/openapi.json', url)))
  return response
}
