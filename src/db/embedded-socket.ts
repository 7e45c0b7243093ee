import { join } from 'node:path'

/** Only names the embedded database's socket file: postgres.js looks for `.s.PGSQL.<port>` in `host`. */
export const EMBEDDED_PORT = 5432

/** The embedded database's socket in `dir`. */
export const embeddedSocketPath = (dir: string) => join(dir, `.s.PGSQL.${EMBEDDED_PORT}`)
