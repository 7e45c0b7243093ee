import { cors } from '@elysiajs/cors'
import { Elysia } from 'elysia'

/**
 * `corsPolicy({ origins })`: browsers on these origins may call the API (no credentials); with
 * none, no CORS headers at all.
 */
export const corsPolicy = ({ origins }: { origins: string[] }) =>
  origins.length === 0
    ? new Elysia({ name: 'cors-off' })
    : cors({
        origin: origins,
        credentials: false,
        methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
        allowedHeaders: ['authorization', 'content-type', 'x-request-id', 'if-match', 'if-none-match', 'idempotency-key'],
        exposeHeaders: ['x-request-id', 'location', 'link', 'retry-after', 'www-authenticate', 'etag', 'idempotent-replayed', 'ratelimit', 'ratelimit-policy'],
        maxAge: 600,
      })
