import { swagger } from '@elysiajs/swagger'
import { Elysia, t } from 'elysia'
import type { Sql } from 'postgres'
import type { Config } from './config'
import { handleErrors, unavailable } from './http/error-handler'
import { parseJsonBody } from './http/json-body'
import { jsonResponse, openApiComponents, problemExample, problemWith, responses, retryAfterHeader } from './http/openapi'
import { requestIdFrom } from './http/request-id'
import type { Logger } from './logger'
import { createUserService } from './users/service'
import { usersRoutes } from './users/routes'
import { User } from './users/schemas'
import pkg from '../package.json'

export interface AppDependencies {
  config: Pick<Config, 'bodyLimit'>
  sql: Sql
  logger: Logger
}

const READY_TIMEOUT_MS = 2000

const ok = t.String({ enum: ['ok'], maxLength: 2 })

const NOT_READY = problemWith(
  'The database does not answer `select 1` within 2 s; retry after `Retry-After` seconds.',
  t.Object({ database: t.String({ enum: ['down'], maxLength: 4 }) }),
  { ...problemExample(503, 'The database cannot be reached'), database: 'down' },
  retryAfterHeader,
)

const databaseAnswers = async (sql: Sql) => {
  let timer: Timer | undefined
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, READY_TIMEOUT_MS, false)))
  try {
    return await Promise.race([sql`select 1`.then(() => true), timeout])
  } catch {
    return false
  } finally {
    clearTimeout(timer)
  }
}

/** The whole HTTP service on one `sql` client; tests build their own with it. */
export const createApp = ({ config, sql, logger }: AppDependencies) => {
  const app = new Elysia({ normalize: false })
  return app
    .onRequest(({ request, set }) => {
      set.headers['x-request-id'] = requestIdFrom(request.headers.get('x-request-id'))
    })
    .onParse(parseJsonBody(config.bodyLimit))
    .onError(handleErrors(logger, () => app.routes))
    .use(
      swagger({
        path: '/docs',
        specPath: '/openapi.json',
        documentation: {
          info: { title: 'Users API', version: pkg.version, description: 'Create, list, read, update and delete users.' },
          tags: [{ name: 'users', description: 'The users resource' }, { name: 'health', description: 'Liveness and readiness' }],
          components: openApiComponents({ User }),
        },
      }),
    )
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
        if (await databaseAnswers(sql)) return { status: 'ok', database: 'ok' }
        throw unavailable('The database cannot be reached', { database: 'down' })
      },
      {
        detail: {
          summary: 'Readiness: the database answers',
          description: 'Ready when the database answers `select 1` within 2 s.',
          tags: ['health'],
          responses: responses({
            200: jsonResponse('Ready.', t.Object({ status: ok, database: ok }), { example: { status: 'ok', database: 'ok' } }),
            503: NOT_READY,
          }),
        },
      },
    )
    .use(usersRoutes(createUserService(sql)))
}

export type App = ReturnType<typeof createApp>
