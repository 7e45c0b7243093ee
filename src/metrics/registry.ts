/**
 * The process's metrics: what the service counts (requests, queries, the pool) in one registry,
 * and the process's own figures (memory, CPU, event loop, GC) in another, so that the primary can
 * sum the first across workers and keep the second apart, one series per worker.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

// Seconds: from a cached read (sub-millisecond) to a request that met its deadline.
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** The figures the code keeps up to date; everything else is read when scraped. */
export interface ServiceMetrics {
  /** The service's own series: summed across workers. */
  registry: Registry
  /** Memory, CPU, event loop, GC: one series per process (label `worker` under a primary). */
  processRegistry: Registry
  requestDuration: Histogram<'method' | 'route' | 'status_code'>
  rateLimited: Counter
  loginsFailed: Counter
  loginsThrottled: Counter
  idempotentReplays: Counter
  queryDuration: Histogram<'operation'>
  queryErrors: Counter<'operation' | 'kind'>
  /** Read when scraped: set by the parts that know (the HTTP plugin, the query observer). */
  readers: { requestsInFlight?: () => number; pool?: () => { busy: number; waiting: number } }
}

/** One JSON snapshot of a process's registries, as `AggregatorRegistry.aggregate()` takes it. */
export type MetricsSnapshot = Awaited<ReturnType<Registry['getMetricsAsJSON']>>

// One per process and label, however often the service starts in it (the dev loop starts it on
// every save, from freshly evaluated modules): prom-client's collectors are a GC observer and an
// event-loop monitor each, which would otherwise pile up, and building them took about 4 ms of
// each reload.
const processRegistries: Map<string, Registry> = ((globalThis as Record<symbol, unknown>)[Symbol.for('users-api.process-registries')] ??=
  new Map()) as Map<string, Registry>

/** The process's own series (prom-client's default metrics), labelled `worker` when given. */
export const processRegistryFor = (worker?: string) => {
  let registry = processRegistries.get(worker ?? '')
  if (registry === undefined) processRegistries.set(worker ?? '', (registry = createProcessRegistry(worker)))
  return registry
}

const createProcessRegistry = (worker?: string) => {
  const registry = new Registry()
  if (worker !== undefined) registry.setDefaultLabels({ worker })
  collectDefaultMetrics({ register: registry })
  // Gauges named like counters, which Prometheus's lint (promtool check metrics) refuses; the
  // same figures remain, by type, in their namesakes without the suffix.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name)
  countCollections(registry)
  return registry
}

/**
 * Bun reports no GC performance entries, so `nodejs_gc_duration_seconds` stays empty under it: the
 * collections are counted instead, by an object nobody holds, which each collection frees and the
 * finalizer replaces. A lower bound (one finalizer may follow several collections), and no
 * durations, but the rate shows the pressure.
 */
const countCollections = (registry: Registry) => {
  const collections = new Counter({ name: 'bun_gc_collections_total', help: 'Garbage collections observed (a lower bound; Bun reports no GC durations).', registers: [registry] })
  const sentinels = new FinalizationRegistry(() => {
    collections.inc()
    plant()
  })
  const plant = () => sentinels.register({}, 0)
  plant()
  // Held by the registry (kept for the whole process, reloads included): unheld, the finalization
  // registry would be collected itself, and count nothing.
  Object.defineProperty(registry, Symbol.for('users-api.gc-sentinels'), { value: sentinels })
}

/** New registries; `worker` labels the process series (under a primary), `poolMax` is this process's pool size. */
export const createServiceMetrics = ({ worker, poolMax }: { worker?: string; poolMax: number }): ServiceMetrics => {
  const registry = new Registry()
  const processRegistry = processRegistryFor(worker)
  const registers = [registry]
  const readers: ServiceMetrics['readers'] = {}
  new Gauge({ name: 'db_client_connections_max', help: 'Connections the database pools may open.', registers }).set(poolMax)
  new Gauge({
    name: 'http_server_active_requests',
    help: 'Requests being served.',
    registers,
    collect() {
      this.set(readers.requestsInFlight?.() ?? 0)
    },
  })
  new Gauge({
    name: 'db_client_connections_busy',
    help: 'Pool connections running a query.',
    registers,
    collect() {
      this.set(readers.pool?.().busy ?? 0)
    },
  })
  new Gauge({
    name: 'db_client_connections_waiting',
    help: 'Queries waiting for a pool connection.',
    registers,
    collect() {
      this.set(readers.pool?.().waiting ?? 0)
    },
  })
  return {
    readers,
    registry,
    processRegistry,
    requestDuration: new Histogram({
      name: 'http_server_request_duration_seconds',
      help: 'Time from a request arriving to its response being sent, by method, route template and status.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    rateLimited: new Counter({ name: 'http_server_rate_limited_total', help: 'Requests refused with 429 by the rate limit.', registers }),
    loginsFailed: new Counter({ name: 'auth_logins_failed_total', help: 'Password checks failed: a wrong email or password (401 at /auth/token), a wrong current_password (422).', registers }),
    loginsThrottled: new Counter({ name: 'auth_logins_throttled_total', help: 'Logins refused with 429 after too many failures for the email.', registers }),
    idempotentReplays: new Counter({ name: 'http_server_idempotent_replays_total', help: 'Answers replayed for a repeated Idempotency-Key (Idempotent-Replayed: true).', registers }),
    queryDuration: new Histogram({
      name: 'db_client_operation_duration_seconds',
      help: 'Time a query took, waiting for a connection included, by SQL operation.',
      labelNames: ['operation'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    queryErrors: new Counter({
      name: 'db_client_errors_total',
      help: 'Failed queries by operation and kind: timeout (the request deadline: a 503), unavailable, constraint, other.',
      labelNames: ['operation', 'kind'],
      registers,
    }),
  }
}

/**
 * A snapshot of a registry of per-process series, to be summed with the others': each process's
 * series carry their own `worker` label, so summing keeps each one as it is (some of the default
 * aggregations, `omit` among them, would drop or merge them instead).
 */
export const perProcessSnapshot = async (registry: Registry): Promise<MetricsSnapshot> =>
  (await registry.getMetricsAsJSON()).map((metric) => ({ ...metric, aggregator: 'sum' as const }))

/** A worker's snapshot for the primary: the service's series (summed over workers) and the process's own. */
export interface WorkerSnapshot {
  service: MetricsSnapshot
  process: MetricsSnapshot
}

export const metricsSnapshot = async (metrics: ServiceMetrics): Promise<WorkerSnapshot> => ({
  service: await metrics.registry.getMetricsAsJSON(),
  process: await perProcessSnapshot(metrics.processRegistry),
})
