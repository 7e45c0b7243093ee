import { describe, expect, test } from 'bun:test'
import { t } from 'elysia'
import { apiDocs } from '../../src/http/docs'
import { appWithProblems, send } from './support'

const Thing = t.Object({ name: t.String({ maxLength: 5 }) })

const build = (bodyLimit: number) =>
  appWithProblems()
    .use(apiDocs({ settings: { bodyLimit }, schemas: { Thing }, auth: true }))
    .get('/things', () => [])

describe('apiDocs({ settings, schemas, auth })', () => {
  test('/openapi.json documents the routes, the named schemas and the body limit in force', async () => {
    for (const limit of [1024, 65536]) {
      const reply = await send(build(limit), '/openapi.json')
      expect(reply.status).toBe(200)
      expect(Object.keys(reply.body.paths)).toEqual(['/things'])
      expect(reply.body.components.schemas.Thing).toEqual({ type: 'object', properties: { name: { type: 'string', maxLength: 5 } }, required: ['name'] })
      expect(reply.body.components.responses.ContentTooLarge.description).toBe(`The body is larger than ${limit} bytes.`)
      expect(reply.body.components.responses.ContentTooLarge.content['application/problem+json'].example).toEqual({
        type: 'about:blank',
        title: 'Content Too Large',
        status: 413,
        detail: `The request body must not exceed ${limit} bytes`,
      })
    }
  })

  test('/docs loads Scalar from the service itself, not a CDN', async () => {
    const app = build(1024)
    const page = await send(app, '/docs')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toStartWith('text/html')
    expect(page.text).toContain('src="/docs/scalar.js"')
    expect(page.text).toContain('data-url="/openapi.json"')
    expect(page.text).not.toMatch(/https?:\/\/(?!localhost)[^"'\s]*\.js/)
    const script = await send(app, '/docs/scalar.js')
    expect(script.status).toBe(200)
    expect(script.headers.get('cache-control')).toBe('public, max-age=86400')
    expect(script.text.length).toBeGreaterThan(100_000)
  })
})
