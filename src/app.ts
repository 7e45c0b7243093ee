import { Elysia, t } from 'elysia'
import type { Sql } from 'postgres'
import type { Config } from './config'
import { handleErrors, unavailable } from './http/error-handler'
import { apiDocs } from './http/docs'
import { parseJsonBody } from './http/json-body'
import { jsonResponse, responses } from './http/openapi'
import { Problem } from './http/problem'
import { malformedQueryParameters } from './http/query-encoding'
import { requestIdFrom } from './http/request-id'
import type { Logger } from './logger'
import { createUserService } from './users/service'
import { usersRoutes } from './users/routes'

export interface AppDependencies {
  config: Pick<Config, 'bodyLimit'>
  sql: Sql
  logger: Logger
}

const READY_TIMEOUT_MS = 2000

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
    .onTransform(({ request }) => {
      const errors = malformedQueryParameters(request.url)
      if (errors.length > 0) throw new Problem(422, 'The request does not fit the schema', { errors })
    })
    .onError(handleErrors(logger, () => app.routes))
    .use(apiDocs())
    .get('/', () => ({ status: 'ok' }), {
      detail: {
        summary: 'Liveness: the process answers; never touches the database',
        tags: ['health'],
        responses: responses({ 200: jsonResponse('Alive.', t.Object({ status: t.String({ enum: ['ok'] }) })) }),
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
          tags: ['health'],
          responses: responses({ 200: jsonResponse('Ready.', t.Object({ status: t.String({ enum: ['ok'] }), database: t.String({ enum: ['ok'] }) })) }, 503),
        },
      },
    )
    .use(usersRoutes(createUserService(sql)))
}

export type App = ReturnType<typeof createApp>
