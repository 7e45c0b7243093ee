/**
 * The embedded database's template: a data directory made by initdb and migrated, holding the
 * schema only (no rows, no keys), gzipped. `bun install` and `bun run build` make it (see
 * build-template.ts); imported as a file, the compiled binary carries it.
 */
/** The template's path, or undefined when it was not built (a new database then runs initdb). */
export const templateArchive = async (): Promise<string | undefined> => {
  try {
    const file = await import('../../node_modules/.cache/users-api/pgdata-template.tgz', { with: { type: 'file' } })
    return file.default
  } catch {
    return undefined
  }
}
