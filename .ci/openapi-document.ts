import type { OpenAPIV3 } from 'openapi-types'
import postgres from 'postgres'
import { createApp } from '../src/app'
import { loadConfig } from '../src/config'
import { createLogger } from '../src/logger'

/**
 * The OpenAPI document as the app serves it at `/openapi.json`. Building it needs no database: the
 * client is never asked a query, so it never connects.
 */
export const openApiDocument = async (): Promise<OpenAPIV3.Document> => {
  const sql = postgres({ max: 1 })
  const app = createApp({ config: loadConfig({}), sql, logger: createLogger('error') })
  const response = await app.handle(new Request('http://localhost/openapi.json'))
  if (response.status !== 200) throw new Error(`GET /openapi.json gave ${response.status}`)
  return (await response.json()) as OpenAPIV3.Document
}
