import { Elysia, t } from 'elysia'
import type { Sql } from 'postgres'
import { withDeadline } from '../db/deadline'
import { jsonResponse, problemWith, responses } from './openapi'
import { problems } from './problems'

/** What the process knows about itself, which readiness and the database-backed routes depend on. */
export interface ServiceState {
  /** The schema is migrated (and the configured first admin exists): routes that use the tables can work. */
  migrated: boolean
  /** Shutting down: readiness fails so load balancers stop sending traffic. */
  draining: boolean
}

const READY_TIMEOUT_MS = 2000

const ok = t.String({ enum: ['ok'], maxLength: 2 })

/**
 * `requireMigrated(state)`: a `beforeHandle` for routes that use the tables: until the migrations
 * have run (the database was down at start-up), they answer 503 with `Retry-After`.
 */
export const requireMigrated = (state: ServiceState) => () => {
  if (!state.migrated) throw problems.notMigrated()
}

/**
 * `health({ sql, state, timeoutMs })`: `GET /` (liveness: never touches the database) and
 * `GET /readyz` (the migrations have run and the first admin exists, the database answers `select 1` within 2 s or
 * `timeoutMs` if shorter, and no shutdown has begun).
 */
export const health = ({ sql, state, timeoutMs }: { sql: Sql; state: ServiceState; timeoutMs: number }) =>
  new Elysia({ name: 'health' })
    .get('/', () => ({ status: 'ok' }), {
      detail: {
        summary: 'Liveness: the process answers',
        description: 'Never touches the database.',
        tags: ['health'],
        responses: responses({ 200: jsonResponse('Alive.', t.Object({ status: ok }), { example: { status: 'ok' } }) }),
      },
    })
    .get(
      '/readyz',
      async () => {
        if (state.draining) throw problems.notReady('shutting down')
        if (!state.migrated) throw problems.notReady('not migrated')
        try {
          await withDeadline(() => sql`select 1`, Math.min(READY_TIMEOUT_MS, timeoutMs))
        } catch {
          throw problems.notReady('unreachable')
        }
        return { status: 'ok', database: 'ok' }
      },
      {
        detail: {
          summary: 'Readiness: the database answers and the service is not shutting down',
          description: 'Ready when the migrations have run, the database answers `select 1` within 2 s, and no shutdown has begun.',
          tags: ['health'],
          responses: responses({
            200: jsonResponse('Ready.', t.Object({ status: ok, database: ok }), { example: { status: 'ok', database: 'ok' } }),
            503: problemWith(problems.notReady, t.Object({ database: t.String({ enum: ['down', 'unknown'], maxLength: 7 }) })),
          }),
        },
      },
    )
