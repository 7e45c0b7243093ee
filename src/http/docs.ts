import { swagger } from '@elysiajs/swagger'
import { Elysia, type TSchema } from 'elysia'
// Served by the service itself, so /docs works offline and from the compiled binary.
import scalarBundle from '../../node_modules/@scalar/api-reference/dist/browser/standalone.js' with { type: 'file' }
import { openApiComponents } from './openapi'
import type { DocumentedSettings } from './problems'
import pkg from '../../package.json'

const SCALAR_PATH = '/docs/scalar.js'

/**
 * `apiDocs({ settings, schemas })`: `/docs` (Scalar, with no request leaving the service) and
 * `/openapi.json`, whose components hold the problem responses (documented with `settings`, e.g.
 * the body limit in force) and the named `schemas` that routes reference.
 */
export const apiDocs = ({ settings, schemas }: { settings: DocumentedSettings; schemas: Record<string, TSchema> }) =>
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
        specPath: '/openapi.json',
        scalarCDN: SCALAR_PATH,
        // Scalar fetches its fonts from its own CDN unless told not to.
        scalarConfig: { withDefaultFonts: false },
        documentation: {
          info: { title: 'Users API', version: pkg.version, description: 'Create, list, read, update and delete users.' },
          tags: [
            { name: 'users', description: 'The users resource' },
            { name: 'health', description: 'Liveness and readiness' },
          ],
          components: openApiComponents(settings, schemas),
        },
      }),
    )
