import { describe, expect, test } from 'bun:test'
import { swagger } from '@elysiajs/swagger'
import { Elysia } from 'elysia'
import { dirname } from 'node:path'

// patches/@elysiajs%2Fswagger@1.3.1.patch: the plugin loads Scalar's themes (and with them zod)
// only for a page that uses the default theme, no longer whenever it is imported. The service's
// own page sets its CSS; the default must still work for the plugin to be the plugin.
// The theme as the plugin finds it: Scalar's themes are its dependency, not this project's.
const { elysiajsTheme } = require(Bun.resolveSync('@scalar/themes', dirname(Bun.resolveSync('@elysiajs/swagger', import.meta.dir)))) as { elysiajsTheme: string }

describe('the patched OpenAPI plugin', () => {
  test('without customCss, /docs still carries the default elysiajs theme', async () => {
    const app = new Elysia().use(swagger({ path: '/docs' }))
    const response = await app.handle(new Request('http://localhost/docs'))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf8')
    expect(elysiajsTheme.length).toBeGreaterThan(1000)
    expect(await response.text()).toContain(elysiajsTheme)
  })

  test('with customCss, the page carries that CSS and not the theme', async () => {
    const app = new Elysia().use(swagger({ path: '/docs', scalarConfig: { customCss: '.mine { color: red }' } }))
    const text = await (await app.handle(new Request('http://localhost/docs'))).text()
    expect(text).toContain('.mine { color: red }')
    expect(text).not.toContain(elysiajsTheme)
  })
})
