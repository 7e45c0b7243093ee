import { swagger } from '@elysiajs/swagger'
import { Elysia, type TSchema } from 'elysia'
// Served by the service itself, so /docs works offline and from the compiled binary.
import scalarBundle from '../../node_modules/@scalar/api-reference/dist/browser/standalone.js' with { type: 'file' }
import { openApiComponents } from './openapi'
import type { DocumentedSettings } from './problem'
import pkg from '../../package.json'

const SCALAR_PATH = '/docs/scalar.js'
const SPEC_PATH = '/openapi.json'

/**
 * Scalar's options, checked against the types of the installed @scalar/api-reference: nothing the
 * page shows may need the internet or a Scalar account. Scalar shows some of these only where it
 * takes the page for local (localhost, 127.0.0.1, *.test…), others only elsewhere:
 * test/docs-browser.test.ts looks at both.
 */
const scalarConfig = {
  // Scalar fetches its fonts from its own CDN unless told not to.
  withDefaultFonts: false,
  // "Ask AI" in the sidebar and "Ask AI Agent" under each operation: Scalar's hosted agent.
  agent: { disabled: true },
  // "Generate MCP" (for VS Code or Cursor, through dashboard.scalar.com).
  mcp: { disabled: true },
  // "Open API Client" (client.scalar.com): in the sidebar where "Generate MCP" is not, and in the
  // "Test Request" client.
  hideClientButton: true,
  // The "Developer Tools" bar: Configure, Share (uploads the document to Scalar), Deploy (on Scalar).
  showDeveloperTools: 'never',
  // Only Scalar's PostHog plugin reads it, and this bundle has none: off all the same.
  telemetry: false,
  // No icon: without a link to one, the browser asks for /favicon.ico, a 404 in its console.
  favicon: 'data:,',
  // No `proxyUrl`: "Test Request" then sends straight to the service (Scalar's proxy is the default
  // only in its own web client, not in the reference's).
  // With `customCss` set, @elysiajs/swagger no longer puts its elysiajs theme in the page: Scalar's.
  theme: 'elysiajs',
  // "Powered by Scalar" (www.scalar.com) in the sidebar, which no option removes. No ' in here: the
  // options go into a '-quoted HTML attribute.
  customCss: '.darklight-reference a[href="https://www.scalar.com"] { display: none }',
} satisfies Exclude<NonNullable<import('@scalar/api-reference').ReferenceProps['configuration']>, unknown[]>

/**
 * `apiDocs({ settings, schemas, auth })`: `/docs` (Scalar, with no request leaving the service) and
 * `/openapi.json`, whose components hold the problem responses (documented with `settings`, e.g.
 * the body limit in force), the named `schemas` that routes reference and, with access control
 * (`auth`), the security schemes.
 */
export const apiDocs = ({ settings, schemas, auth }: { settings: DocumentedSettings; schemas: Record<string, TSchema>; auth: boolean }) =>
  new Elysia({ name: 'api-docs' })
    .get(
      SCALAR_PATH,
      ({ set }) => {
        set.headers['cache-control'] = 'public, max-age=86400'
        return Bun.file(scalarBundle)
      },
      { detail: { hide: true } },
    )
    .use(
      swagger({
        path: '/docs',
        specPath: SPEC_PATH,
        scalarCDN: SCALAR_PATH,
        // Typed by @elysiajs/swagger with an older Scalar's options, which knows no elysiajs theme;
        // it passes them on as they are.
        // The document's own path, not the plugin's relative `openapi.json`: from `/docs/` that
        // named `/docs/openapi.json`, a 404, and the page showed nothing.
        scalarConfig: { ...(scalarConfig as Omit<typeof scalarConfig, 'theme'>), spec: { url: SPEC_PATH } },
        documentation: {
          info: { title: 'Users API', version: pkg.version, description: 'Create, list, read, update and delete users.' },
          tags: [
            { name: 'users', description: 'The users resource' },
            ...(auth ? [{ name: 'auth', description: 'Logging in and out' }] : []),
            { name: 'health', description: 'Liveness and readiness' },
          ],
          components: openApiComponents(settings, schemas, { auth }),
        },
      }),
    )
