/**
 * What the benchmark asks of a server: each scenario is a stream of requests autocannon sends,
 * made fresh for every request (random ids, unique emails), identical for service and baseline.
 */
import { SEEDED_LAST_NAMES } from './database'

interface BenchRequest {
  method: 'GET' | 'POST' | 'PATCH'
  path: string
  headers?: Record<string, string>
  body?: string
}

export interface Scenario {
  name: string
  /** A new request each call. */
  next(): BenchRequest
}

const JSON_HEADERS = { 'content-type': 'application/json' }
const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1))
const pickOne = <T>(items: readonly T[]) => items[randomInt(0, items.length - 1)]!

let emailSequence = 0
// Unique across runs and processes on one database: emails of earlier runs never collide.
const runTag = `${process.pid}-${Date.now().toString(36)}`

/** The scenarios of the main table, over users with ids 1..`users`. */
export const scenarios = (users: number): Scenario[] => [
  { name: 'GET /users/{random id}', next: () => ({ method: 'GET', path: `/users/${randomInt(1, users)}` }) },
  { name: 'GET /users?limit=100', next: () => ({ method: 'GET', path: '/users?limit=100' }) },
  {
    name: 'GET /users?name=…&limit=20',
    next: () => ({ method: 'GET', path: `/users?name=${pickOne(SEEDED_LAST_NAMES).toLowerCase()}&limit=20` }),
  },
  {
    name: 'POST /users (unique emails)',
    next: () => ({
      method: 'POST',
      path: '/users',
      headers: JSON_HEADERS,
      body: JSON.stringify({ name: 'Bench User', email: `bench-${runTag}-${++emailSequence}@example.com`, age: randomInt(1, 120) }),
    }),
  },
  {
    name: 'PATCH /users/{id}',
    next: () => ({
      method: 'PATCH',
      path: `/users/${randomInt(1, users)}`,
      headers: JSON_HEADERS,
      body: JSON.stringify({ age: randomInt(1, 120) }),
    }),
  },
  { name: 'GET /', next: () => ({ method: 'GET', path: '/' }) },
]

/** The reads that must stay fast as the table grows (`--scale`). */
export const scaleScenarios = (users: number): Scenario[] => [
  { name: 'GET /users?after=…', next: () => ({ method: 'GET', path: `/users?after=${randomInt(0, users - 100)}` }) },
  { name: 'GET /users/{random id}', next: () => ({ method: 'GET', path: `/users/${randomInt(1, users)}` }) },
  { name: 'GET /users?email=…', next: () => ({ method: 'GET', path: `/users?email=user${randomInt(1, users)}@example.com` }) },
  {
    name: 'GET /users?name=…&limit=20',
    next: () => ({ method: 'GET', path: `/users?name=${pickOne(SEEDED_LAST_NAMES).toLowerCase()}&limit=20` }),
  },
]

/** The soak's mix: reads, a filtered list, creates and updates, in turn on every connection. */
export const soakMix = (users: number): Scenario => {
  const mixed = scenarios(users).slice(0, 5)
  let turn = 0
  return { name: 'mixed: get, list, name filter, create, update', next: () => mixed[turn++ % mixed.length]!.next() }
}
