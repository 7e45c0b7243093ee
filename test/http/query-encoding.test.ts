import { describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { strictQueryEncoding } from '../../src/http/query-encoding'
import { appWithProblems, send } from './support'

const build = () =>
  appWithProblems()
    .use(strictQueryEncoding())
    .get('/', ({ query }) => ({ query }))

const malformed = (...fields: string[]) => ({
  type: 'about:blank',
  title: 'Unprocessable Content',
  status: 422,
  detail: 'The request does not fit the schema',
  errors: fields.map((field) => ({ field, message: 'is not valid percent-encoding' })),
})

describe('strictQueryEncoding()', () => {
  test('?a=%ZZ: 422 naming a', async () => {
    const reply = await send(build(), '/?a=%ZZ')
    expect(reply.status).toBe(422)
    expect(reply.headers.get('content-type')).toBe('application/problem+json')
    expect(reply.body).toEqual(malformed('a'))
  })

  test('every broken parameter is named, in order, the sound ones not', async () => {
    const reply = await send(build(), '/?a=%ZZ&b=fine&c=%E0%A4%A&%ZZ=1')
    expect(reply.status).toBe(422)
    expect(reply.body).toEqual(malformed('a', 'c', '%ZZ'))
  })

  test('within the problem body’s limits: names cut at 100 characters, at most 100 parameters named', async () => {
    const long = await send(build(), `/?${'k'.repeat(150)}=%ZZ`)
    expect(long.status).toBe(422)
    expect(long.body).toEqual(malformed('k'.repeat(100)))
    const many = await send(build(), `/?${Array.from({ length: 150 }, (_, i) => `a${i}=%ZZ`).join('&')}`)
    expect(many.status).toBe(422)
    expect(many.body).toEqual(malformed(...Array.from({ length: 100 }, (_, i) => `a${i}`)))
  })

  test('sound encoding passes through, decoded', async () => {
    const reply = await send(build(), '/?a=%20x%C3%A9&b=y+z&c')
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({ query: { a: ' xé', b: 'y z', c: '' } })
  })

  test("it guards the routes of plugins used after it, as the users routes are in the app", async () => {
    const routes = new Elysia({ name: 'other-routes' }).get('/other', () => 'ok')
    const reply = await send(build().use(routes), '/other?q=%ZZ')
    expect(reply.status).toBe(422)
    expect(reply.body).toEqual(malformed('q'))
  })
})
