/**
 * One scrape for the whole process group: the primary asks every worker for a snapshot of its
 * registries over the IPC channel `Bun.spawn` opens, waits at most `timeoutMs` for each (a
 * stuck worker cannot hang a scrape: it is left out and counted), and merges them with
 * prom-client's `AggregatorRegistry.aggregate()`: the service's series summed, the process
 * series kept apart by their `worker` label.
 */
import { AggregatorRegistry, Gauge, Registry } from 'prom-client'
import { metricsSnapshot, perProcessSnapshot, type MetricsSnapshot, type ServiceMetrics } from './registry'

const REQUEST = 'metrics-request'
const REPLY = 'metrics-reply'

interface MetricsReply {
  type: typeof REPLY
  id: number
  snapshot: MetricsSnapshot
}

const isReply = (message: unknown): message is MetricsReply =>
  typeof message === 'object' && message !== null && (message as { type?: unknown }).type === REPLY

/** In a worker: answers the primary's requests for a snapshot. */
export const answerMetricsRequests = (metrics: ServiceMetrics) => {
  process.on('message', async (message: { type?: unknown; id?: unknown }) => {
    if (message?.type !== REQUEST || typeof message.id !== 'number') return
    process.send?.({ type: REPLY, id: message.id, snapshot: await metricsSnapshot(metrics) } satisfies MetricsReply)
  })
}

/** The worker processes as the primary sees them. */
interface WorkerChannel {
  send(message: unknown): void
}

/**
 * In the primary: `onMessage` is the spawned workers' IPC handler, `render()` one scrape of the
 * group. `own` holds the primary's own process series.
 */
export const workerMetrics = ({ own, timeoutMs }: { own: Registry; timeoutMs: number }) => {
  const waiting = new Map<number, (snapshot: MetricsSnapshot) => void>()
  let nextId = 0
  let missing = 0
  const group = new Registry()
  new Gauge({
    name: 'metrics_workers_missing',
    help: 'Workers that did not answer the last scrape in time (their series are absent from it).',
    registers: [group],
    collect() {
      this.set(missing)
    },
  })
  const ask = (worker: WorkerChannel) =>
    new Promise<MetricsSnapshot | undefined>((resolve) => {
      const id = nextId++
      const timer = setTimeout(() => {
        waiting.delete(id)
        resolve(undefined)
      }, timeoutMs)
      waiting.set(id, (snapshot) => {
        clearTimeout(timer)
        waiting.delete(id)
        resolve(snapshot)
      })
      try {
        worker.send({ type: REQUEST, id })
      } catch {
        // A worker that has exited: the timeout answers for it.
      }
    })
  return {
    onMessage(message: unknown) {
      if (isReply(message)) waiting.get(message.id)?.(message.snapshot)
    },
    async render(workers: readonly WorkerChannel[]) {
      const snapshots = await Promise.all(workers.map(ask))
      const answered = snapshots.filter((snapshot) => snapshot !== undefined)
      missing = workers.length - answered.length
      return AggregatorRegistry.aggregate([await group.getMetricsAsJSON(), await perProcessSnapshot(own), ...answered]).metrics()
    },
  }
}
