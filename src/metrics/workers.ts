/**
 * One scrape for the whole process group: the primary asks every worker for a snapshot of its
 * registries over the IPC channel `Bun.spawn` opens, waits at most `timeoutMs` for each (a
 * stuck worker cannot hang a scrape: its last answer stands in for its share of the sums, and it
 * is counted), and merges them with prom-client's `AggregatorRegistry.aggregate()`: the service's
 * series summed, the process series kept apart by their `worker` label.
 */
import { AggregatorRegistry, Gauge, Registry } from 'prom-client'
import { metricsSnapshot, perProcessSnapshot, type ServiceMetrics, type WorkerSnapshot } from './registry'

const REQUEST = 'metrics-request'
const REPLY = 'metrics-reply'

interface MetricsReply {
  type: typeof REPLY
  id: number
  snapshot: WorkerSnapshot
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
  const waiting = new Map<number, (snapshot: WorkerSnapshot) => void>()
  let nextId = 0
  let missing = 0
  const last = new WeakMap<WorkerChannel, WorkerSnapshot>()
  const group = new Registry()
  new Gauge({
    name: 'metrics_workers_missing',
    help: 'Workers that did not answer the last scrape in time (their series are those of their last answer).',
    registers: [group],
    collect() {
      this.set(missing)
    },
  })
  const ask = (worker: WorkerChannel) =>
    new Promise<WorkerSnapshot | undefined>((resolve) => {
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
      missing = snapshots.filter((snapshot) => snapshot === undefined).length
      // A sum that left a worker out would go down, and Prometheus reads a counter that goes down
      // as a restart (a rate's spike): a worker that does not answer counts with its last answer.
      // Its process series, one per worker, are left out instead (they go stale, as they should).
      const counted = workers.flatMap((worker, index) => {
        const answer = snapshots[index]
        if (answer) last.set(worker, answer)
        const standIn = last.get(worker)
        return answer ? [answer.service, answer.process] : standIn ? [standIn.service] : []
      })
      return AggregatorRegistry.aggregate([await group.getMetricsAsJSON(), await perProcessSnapshot(own), ...counted]).metrics()
    },
  }
}
