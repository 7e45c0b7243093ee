import { afterAll, beforeAll } from 'bun:test'
import { closeTestDatabase, testDatabase } from './database'

// Creating the embedded database takes seconds: do it once, before any test's own timeout runs.
beforeAll(async () => {
  await testDatabase()
}, 60_000)

afterAll(closeTestDatabase)
