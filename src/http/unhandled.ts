import { errorDetail } from '../error-message'
import type { Logger } from '../logger'
import { problemResponse } from './errors'
import { problems } from './problems'

/**
 * Bun's `error` option for the API's server: a failure outside the app's own error handling (a
 * plugin's `wrap`, which runs before it) gets the app's generic 500 with a request id, and a log
 * line naming it, as the app's own handler would; never Bun's error page, which shows the stack
 * and the source.
 */
export const unhandledFailure = (logger: Logger) => (error: Error) => {
  const requestId = crypto.randomUUID()
  logger.error('unexpected error outside the app', { request_id: requestId, error: errorDetail(error) })
  return problemResponse(problems.internal(), { 'x-request-id': requestId })
}
