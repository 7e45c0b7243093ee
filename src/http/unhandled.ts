import type { Logger } from '../logger'
import { problems } from './problems'

/**
 * Bun's `error` option for the API's server: a failure outside the app's own error handling (a
 * plugin's `wrap`, which runs before it) gets the app's generic 500 with a request id, and a log
 * line naming it; never Bun's error page, which shows the stack and the source.
 */
export const unhandledFailure = (logger: Logger) => (error: Error) => {
  const requestId = crypto.randomUUID()
  // As the app's own handler logs one: the stack is for the log, never for the client.
  logger.error('unexpected error outside the app', { request_id: requestId, error: { name: error.name, message: error.message, stack: error.stack } })
  return new Response(JSON.stringify(problems.internal()), {
    status: 500,
    headers: { 'content-type': 'application/problem+json', 'x-request-id': requestId },
  })
}
