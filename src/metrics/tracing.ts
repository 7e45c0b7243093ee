/**
 * Traces over OTLP/HTTP (JSON), loaded only when an endpoint is set: one server span per request,
 * named by its route template and continuing an incoming W3C `traceparent`, and a client span
 * per query under it, named by the SQL operation (never with a parameter's value). The exporter
 * reads the usual `OTEL_EXPORTER_OTLP_*` variables; `OTEL_SERVICE_NAME` and
 * `OTEL_RESOURCE_ATTRIBUTES` name the service.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type TextMapGetter } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources'
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from '@opentelemetry/sdk-trace'
import { Elysia } from 'elysia'
import type { TRACE_SAMPLERS } from '../environment'
import type { QueryObserver } from '../db/observe'
import { responseStatus } from '../http/request-log'
import { pathOf } from '../http/request-path'
import { routeLabel, UNMATCHED_ROUTE } from '../http/route-label'
import type { Logger } from '../logger'
import pkg from '../../package.json'

const headerGetter: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
}

/** Milliseconds between exports: `OTEL_BSP_SCHEDULE_DELAY`, or the SDK's 5 s. */
const scheduleDelay = () => {
  const value = Number(process.env.OTEL_BSP_SCHEDULE_DELAY)
  return Number.isInteger(value) && value > 0 ? value : undefined
}

/**
 * The sampler `OTEL_TRACES_SAMPLER` names (checked by the configuration), with the ratio in
 * `OTEL_TRACES_SAMPLER_ARG` (default 1); unset: follow the caller's decision, else sample all.
 */
const samplerFromEnvironment = (): Sampler => {
  const name = (process.env.OTEL_TRACES_SAMPLER || 'parentbased_always_on') as (typeof TRACE_SAMPLERS)[number]
  const ratio = Number(process.env.OTEL_TRACES_SAMPLER_ARG || '1')
  const root = name.endsWith('always_off') ? new AlwaysOffSampler() : name.endsWith('traceidratio') ? new TraceIdRatioBasedSampler(ratio) : new AlwaysOnSampler()
  return name.startsWith('parentbased_') ? new ParentBasedSampler({ root }) : root
}

// The methods HTTP's semantic conventions name; any other is `_OTHER`, and a span named `HTTP`
// (span names stay bounded).
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE'])
const spanMethod = (method: string) => (HTTP_METHODS.has(method) ? method : 'HTTP')

/** How long a stop waits for the last spans to reach the collector. */
const FLUSH_TIMEOUT_MS = 3000

/** The tracer provider, its HTTP plugin, its query observer, and the ids a log line carries. */
export const startTracing = (logger: Logger) => {
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': pkg.name, 'service.version': pkg.version }))
    .merge(detectResources({ detectors: [envDetector] }))
  const exporter = new OTLPTraceExporter()
  const provider = new TracerProvider({
    resource,
    sampler: samplerFromEnvironment(),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: scheduleDelay() })],
  })
  const tracer = provider.getTracer(pkg.name, pkg.version)
  const propagator = new W3CTraceContextPropagator()
  const current = new AsyncLocalStorage<Context>()
  const spans = new WeakMap<Request, Span>()

  const plugin = new Elysia({ name: 'tracing' })
    // Around the whole handling of a request, so that the queries it runs find their parent span.
    // Elysia applies `wrap` on a listening server (Bun's router included); `app.handle()` on an
    // app with a `wrap` misroutes, which is why this is tested through the real process.
    .wrap((handle, request) => {
      const parent = propagator.extract(ROOT_CONTEXT, request.headers, headerGetter)
      const known = HTTP_METHODS.has(request.method)
      const span = tracer.startSpan(
        spanMethod(request.method),
        {
          kind: SpanKind.SERVER,
          attributes: {
            'http.request.method': known ? request.method : '_OTHER',
            ...(known ? {} : { 'http.request.method_original': request.method }),
            // Read as text: a request without a (sane) Host has a URL that does not parse.
            'url.path': pathOf(request.url),
            'url.scheme': request.url.startsWith('https:') ? 'https' : 'http',
          },
        },
        parent,
      )
      spans.set(request, span)
      const context = trace.setSpan(parent, span)
      return ((...args: unknown[]) => current.run(context, () => (handle as (...args: unknown[]) => unknown)(...args))) as ReturnType<typeof handle>
    })
    .onAfterResponse({ as: 'global' }, ({ request, route, set, responseValue }) => {
      const span = spans.get(request)
      if (span === undefined) return
      const status = responseStatus(responseValue, set.status)
      const template = routeLabel(request, route)
      if (template !== UNMATCHED_ROUTE) span.updateName(`${spanMethod(request.method)} ${template}`).setAttribute('http.route', template)
      span.setAttribute('http.response.status_code', status)
      if (status >= 500) span.setAttribute('error.type', String(status)).setStatus({ code: SpanStatusCode.ERROR })
      span.end()
    })

  const queryObserver: QueryObserver = (operation) => {
    const parent = current.getStore()
    if (parent === undefined) return () => {}
    const name = operation.toUpperCase()
    const span = tracer.startSpan(
      name,
      { kind: SpanKind.CLIENT, attributes: { 'db.system.name': 'postgresql', 'db.operation.name': name } },
      parent,
    )
    return (error) => {
      if (error !== undefined) {
        const type = (error as { code?: unknown })?.code
        span.setAttribute('error.type', typeof type === 'string' ? type : error instanceof Error ? error.name : 'error')
        span.setStatus({ code: SpanStatusCode.ERROR })
      }
      span.end()
    }
  }

  const logFields = (request: Request) => {
    const context = spans.get(request)?.spanContext()
    return context === undefined ? undefined : { trace_id: context.traceId, span_id: context.spanId }
  }

  // The last spans get a bounded wait: a collector that stalls must not hold the shutdown (its
  // exporter would wait 10 s, and retry one that refuses).
  const stop = async () => {
    const flushed = provider.shutdown().then(
      () => true,
      (error: unknown) => (logger.warn('traces not exported', { error: String(error) }), true),
    )
    if (!(await Promise.race([flushed, Bun.sleep(FLUSH_TIMEOUT_MS).then(() => false)])))
      logger.warn('traces not exported', { error: `the collector did not answer within ${FLUSH_TIMEOUT_MS / 1000} s` })
  }

  return { plugin, queryObserver, logFields, stop }
}
