/**
 * Model-based property: random sequences of create, read, list, patch and delete (duplicate emails
 * in any case, reads and changes after deletes, bad ages included) against the service and against
 * a plain in-memory model of the contract; after every step the two must agree.
 *
 * Each sequence works among its own users: every name starts with the sequence's tag and every list
 * filters on it, and every email contains it, so the rest of the suite's data never interferes.
 */
import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { trimWhiteSpace } from '../../src/schema/strict-types'
import type { User } from '../../src/users/schemas'
import { FC_RUNS, fuzz } from '../support/fuzz'
import { call, expectProblem, unique } from '../support/http'

interface Model {
  /** The users that exist, by id. */
  users: Map<number, User>
  /** Every id the service gave out in this sequence, deleted ones too, in order. */
  ids: number[]
}

interface Real {
  tag: string
}

/** How many times each command ran, for the closing report. */
const executed: Record<string, number> = { create: 0, read: 0, list: 0, patch: 0, delete: 0 }

// A handful of addresses per sequence, so creates and changes collide; each in any case.
const emailSlot = fc.record({ slot: fc.nat({ max: 3 }), upper: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }) })
type EmailSlot = typeof emailSlot extends fc.Arbitrary<infer T> ? T : never
const emailOf = ({ slot, upper }: EmailSlot, tag: string) => {
  const [local, tagPart, domain] = [`slot${slot}`, tag, 'example.com'].map((part, i) => (upper[i] ? part.toUpperCase() : part))
  return `${local}.${tagPart}@${domain}`
}

// Name suffixes with trimmable and non-ASCII text; the name is `tag + suffix`, trimmed.
const nameSuffix = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 20 }),
  fc.constantFrom(' Zoë', ' 山田', '  \t', ' 100%_x', ' 😀'.repeat(10)),
)
const nameOf = (suffix: string, tag: string) => `${tag}${suffix}`
// Mostly valid, sometimes the business rule's 400.
const age = fc.oneof(
  { weight: 9, arbitrary: fc.integer({ min: 1, max: 120 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 121, -5, 1000) },
)
const validAge = (value: number) => value >= 1 && value <= 120
// Which id a command aims at: one the sequence created (maybe deleted since), or one nobody has.
const target = fc.oneof({ weight: 9, arbitrary: fc.nat() }, { weight: 1, arbitrary: fc.constant(-1) })
const idOf = (model: Model, pick: number) =>
  pick < 0 || model.ids.length === 0 ? Number.MAX_SAFE_INTEGER : model.ids[pick % model.ids.length]!

const emailTaken = (model: Model, email: string, except?: number) =>
  [...model.users.values()].some((user) => user.id !== except && user.email.toLowerCase() === email.toLowerCase())

class Create implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly suffix: string,
    readonly email: EmailSlot,
    readonly age: number,
  ) {}
  check = () => true
  async run(model: Model, real: Real) {
    executed.create!++
    const input = { name: nameOf(this.suffix, real.tag), email: emailOf(this.email, real.tag), age: this.age }
    const reply = await call('POST', '/users', { json: input })
    if (!validAge(this.age))
      return void expect(expectProblem(reply, 400).errors).toEqual([{ field: 'age', message: 'must be between 1 and 120' }])
    if (emailTaken(model, input.email))
      return void expect(expectProblem(reply, 409).errors).toEqual([{ field: 'email', message: 'is already taken' }])
    expect(reply.status).toBe(201)
    const user = reply.body as User
    expect(user).toEqual({ ...input, name: trimWhiteSpace(input.name), role: 'user', id: user.id, created_at: user.created_at, updated_at: user.created_at })
    expect(model.ids.every((id) => id < user.id)).toBe(true)
    model.users.set(user.id, user)
    model.ids.push(user.id)
  }
  toString = () => `create(${JSON.stringify(this.suffix)}, slot ${this.email.slot} ${this.email.upper}, age ${this.age})`
}

class Read implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  check = () => true
  async run(model: Model) {
    executed.read!++
    const id = idOf(model, this.pick)
    const reply = await call('GET', `/users/${id}`)
    const user = model.users.get(id)
    if (!user) return void expect(expectProblem(reply, 404).detail).toBe('User not found')
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual(user)
  }
  toString = () => `read(#${this.pick})`
}

interface Filters {
  limit?: number
  email?: EmailSlot
  min_age?: number
  max_age?: number
  after?: number
}

class List implements fc.AsyncCommand<Model, Real> {
  constructor(readonly filters: Filters) {}
  check = () => true
  async run(model: Model, real: Real) {
    executed.list!++
    const { limit, email, min_age, max_age, after } = this.filters
    const afterId = after === undefined ? undefined : after < 0 ? 0 : idOf(model, after)
    const query = new URLSearchParams({ name: real.tag })
    if (limit !== undefined) query.set('limit', String(limit))
    if (email) query.set('email', emailOf(email, real.tag))
    if (min_age !== undefined) query.set('min_age', String(min_age))
    if (max_age !== undefined) query.set('max_age', String(max_age))
    if (afterId !== undefined) query.set('after', String(afterId))
    const expected = [...model.users.values()]
      .filter((user) => afterId === undefined || user.id > afterId)
      .filter((user) => !email || user.email.toLowerCase() === emailOf(email, real.tag).toLowerCase())
      .filter((user) => (min_age === undefined || user.age >= min_age) && (max_age === undefined || user.age <= max_age))
      .sort((a, b) => a.id - b.id)
    // Follow the pages: together they are the model's answer, each but the last one full, and the
    // last one never empty (unless nothing matches at all).
    const pageSize = limit ?? 100
    const pages: User[][] = []
    let next: string | undefined = `/users?${query}`
    while (next && pages.length <= expected.length + 1) {
      const reply = await call('GET', next)
      expect(reply.status).toBe(200)
      pages.push(reply.body as User[])
      const link = reply.headers.get('link')
      next = link === null ? undefined : /^<([^>]+)>; rel="next"$/.exec(link)![1]
    }
    expect(pages.flat()).toEqual(expected)
    expect(pages.length).toBe(Math.max(1, Math.ceil(expected.length / pageSize)))
    expect(pages.slice(0, -1).every((page) => page.length === pageSize)).toBe(true)
  }
  toString = () => `list(${JSON.stringify(this.filters)})`
}

class Patch implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly pick: number,
    readonly changes: { suffix?: string; email?: EmailSlot; age?: number },
  ) {}
  check = () => true
  async run(model: Model, real: Real) {
    executed.patch!++
    const id = idOf(model, this.pick)
    const { suffix, email, age } = this.changes
    const json = {
      ...(suffix !== undefined && { name: nameOf(suffix, real.tag) }),
      ...(email && { email: emailOf(email, real.tag) }),
      ...(age !== undefined && { age }),
    }
    const reply = await call('PATCH', `/users/${id}`, { json })
    const user = model.users.get(id)
    if (age !== undefined && !validAge(age)) return void expectProblem(reply, 400)
    if (!user) return void expect(expectProblem(reply, 404).detail).toBe('User not found')
    if (json.email !== undefined && emailTaken(model, json.email, id)) return void expectProblem(reply, 409)
    expect(reply.status).toBe(200)
    const changed = { ...user, ...json, ...(json.name !== undefined && { name: trimWhiteSpace(json.name) }), updated_at: reply.body.updated_at }
    expect(reply.body).toEqual(changed)
    expect(Date.parse(changed.updated_at)).toBeGreaterThanOrEqual(Date.parse(user.updated_at))
    model.users.set(id, changed)
  }
  toString = () => `patch(#${this.pick}, ${JSON.stringify(this.changes)})`
}

class Delete implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  check = () => true
  async run(model: Model) {
    executed.delete!++
    const id = idOf(model, this.pick)
    const reply = await call('DELETE', `/users/${id}`)
    if (!model.users.has(id)) return void expect(expectProblem(reply, 404).detail).toBe('User not found')
    expect(reply.status).toBe(204)
    expect(reply.text).toBe('')
    model.users.delete(id)
  }
  toString = () => `delete(#${this.pick})`
}

// Fewer, longer sequences than the other properties' runs (about 22 commands each), so long
// histories (reuse after delete, many colliding emails) are common and each kind of command still
// runs over FC_RUNS times in all; the test prints how many.
const MODEL_RUNS = Math.ceil(FC_RUNS / 4)

const commands = fc.commands(
  [
    fc.tuple(nameSuffix, emailSlot, age).map(([suffix, email, value]) => new Create(suffix, email, value)),
    target.map((pick) => new Read(pick)),
    fc
      .record(
        {
          limit: fc.integer({ min: 1, max: 4 }),
          email: emailSlot,
          min_age: fc.integer({ min: 0, max: 121 }),
          max_age: fc.integer({ min: 0, max: 121 }),
          after: target,
        },
        { requiredKeys: [] },
      )
      .map((filters) => new List(filters)),
    fc
      .tuple(
        target,
        fc.record({ suffix: nameSuffix, email: emailSlot, age }, { requiredKeys: [] }).filter((changes) => Object.keys(changes).length > 0),
      )
      .map(([pick, changes]) => new Patch(pick, changes)),
    target.map((pick) => new Delete(pick)),
  ],
  { maxCommands: 50, size: '+1' },
)

describe('fuzz: the service agrees with a model', () => {
  test('any sequence of create, read, list, patch and delete', async () => {
    Object.keys(executed).forEach((name) => (executed[name] = 0))
    await fuzz(
      'model-based sequences',
      fc.asyncProperty(commands, (sequence) =>
        fc.asyncModelRun(() => ({ model: { users: new Map(), ids: [] }, real: { tag: `m${unique()}` } }), sequence),
      ),
      MODEL_RUNS,
    )
    console.log(`fuzz: model-based commands run: ${JSON.stringify(executed)}`)
  }, 600_000)
})
