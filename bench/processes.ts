/**
 * The processes under load: started, awaited until every worker listens, measured for memory
 * through /proc (Linux), stopped.
 */
import { readFileSync } from 'node:fs'
import { readLines } from '../test/support/lines'

export interface Server {
  name: string
  url: string
  pid: number
  /** Every process of the server: the one started and its descendants. */
  pids(): number[]
  stop(): Promise<number>
}

const START_TIMEOUT_MS = 60_000

const childrenOf = (pid: number): number[] => {
  try {
    const tasks = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
    return tasks === '' ? [] : tasks.split(' ').map(Number)
  } catch {
    return []
  }
}

const descendants = (pid: number): number[] => childrenOf(pid).flatMap((child) => [child, ...descendants(child)])

/** Resident memory of one process in MB, or 0 once it is gone. */
const rssMb = (pid: number) => {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) / 1024 : 0
  } catch {
    return 0
  }
}

/**
 * Without `listening` lines to count (a `LOG_LEVEL` above info): `url` answers, and the primary
 * has started its `listeners` workers.
 */
const untilAnswering = async (url: string, pid: number, listeners: number) => {
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    if (Date.now() > deadline) throw new Error(`${url} did not answer`)
    const answered = await fetch(url).then((response) => response.ok, () => false)
    if (answered && (listeners === 1 || descendants(pid).length >= listeners)) return
    await Bun.sleep(50)
  }
}

/**
 * Starts `command` and resolves once `listeners` processes have logged a `listening` line
 * (one per worker). Output is kept out of the report; errors on stderr are shown.
 */
export const startServer = async (name: string, command: string[], env: Record<string, string>, listeners: number): Promise<Server> => {
  const child = Bun.spawn(command, { env, stdout: 'pipe', stderr: 'inherit' })
  const quiet = env.LOG_LEVEL === 'warn' || env.LOG_LEVEL === 'error'
  let listening = 0
  let url = quiet ? `http://127.0.0.1:${env.PORT}` : ''
  await (quiet ? untilAnswering(url, child.pid, listeners) : new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start`)), START_TIMEOUT_MS)
    ;(async () => {
      for await (const line of readLines(child.stdout)) {
        if (!line.includes('"listening"')) continue
        url = JSON.parse(line).url
        if (++listening === listeners) {
          clearTimeout(timer)
          resolve()
        }
      }
      reject(new Error(`${name} exited before listening`))
    })().catch(reject)
  }))
  // Keep draining stdout so a chatty server never blocks on a full pipe.
  void (async () => {
    for await (const _ of child.stdout);
  })().catch(() => {})
  return {
    name,
    url,
    pid: child.pid,
    pids: () => [child.pid, ...descendants(child.pid)],
    async stop() {
      child.kill('SIGTERM')
      return child.exited
    },
  }
}

/** Samples a server's memory while something runs: peak of one worker and of all processes. */
export const sampleMemory = (server: Server, everyMs = 200) => {
  let peakWorker = 0
  let peakTotal = 0
  const samples: number[][] = []
  const sample = () => {
    const pids = server.pids()
    // With workers, the first pid is the primary, which serves nothing; the workers are the rest.
    const serving = pids.length > 1 ? pids.slice(1) : pids
    const rss = serving.map(rssMb)
    samples.push(rss)
    peakWorker = Math.max(peakWorker, ...rss)
    peakTotal = Math.max(peakTotal, pids.map(rssMb).reduce((a, b) => a + b, 0))
  }
  sample()
  const timer = setInterval(sample, everyMs)
  return {
    stop() {
      clearInterval(timer)
      sample()
      return { peakWorkerMb: peakWorker, peakTotalMb: peakTotal, samples }
    },
  }
}
