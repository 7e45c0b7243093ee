/** Cold start of the compiled binary: from spawning it to the first 200 on `GET /`. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../src/free-port'

const POLL_MS = 2
const GIVE_UP_MS = 30_000

/** Milliseconds from spawn to the first 200 on `/`, then the process is stopped. */
const timeToFirstAnswer = async (binary: string, env: Record<string, string>) => {
  const port = freePort()
  const started = performance.now()
  // Metrics on, as shipped, on a free port (the default may be taken on a shared machine).
  const childEnv = { ...env, PORT: String(port), HOST: '127.0.0.1', METRICS_PORT: String(freePort()) }
  const child = Bun.spawn([binary], { env: childEnv, stdout: 'ignore', stderr: 'inherit' })
  try {
    while (performance.now() - started < GIVE_UP_MS) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/`)
        if (response.status === 200) return performance.now() - started
      } catch {
        // not listening yet
      }
      await Bun.sleep(POLL_MS)
    }
    throw new Error('the binary did not answer within 30 s')
  } finally {
    child.kill('SIGTERM')
    await child.exited
  }
}

export interface ColdStart {
  label: string
  runs: number[]
  median: number
}

const summarize = (label: string, runs: number[]): ColdStart => {
  const sorted = [...runs].sort((a, b) => a - b)
  return { label, runs, median: sorted[Math.floor(sorted.length / 2)]! }
}

/** Each case `runs` times: on the server (WORKERS unset and 1) and on an existing embedded database. */
export const measureColdStarts = async (binary: string, serverUrl: string, runs = 5): Promise<ColdStart[]> => {
  const base = { PATH: process.env.PATH ?? '', NODE_ENV: 'production', LOG_LEVEL: 'warn' }
  const results: ColdStart[] = []
  for (const [label, env] of [
    ['PostgreSQL, WORKERS unset (every core)', { DATABASE_URL: serverUrl }],
    ['PostgreSQL, WORKERS=1', { DATABASE_URL: serverUrl, WORKERS: '1' }],
  ] as const) {
    const times = []
    for (let i = 0; i < runs; i++) times.push(await timeToFirstAnswer(binary, { ...base, ...env }))
    results.push(summarize(label, times))
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'users-api-bench-cold-'))
  try {
    const created = await timeToFirstAnswer(binary, { ...base, DATA_DIR: dataDir })
    results.push(summarize('embedded, database created on this start', [created]))
    const times = []
    for (let i = 0; i < runs; i++) times.push(await timeToFirstAnswer(binary, { ...base, DATA_DIR: dataDir }))
    results.push(summarize('embedded, existing database', times))
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
  return results
}
