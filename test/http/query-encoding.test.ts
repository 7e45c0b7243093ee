import { describe, expect, test } from 'bun:test'
import { t } from 'elysia'
import { strictQueryEncoding } from '../../src/http/query-encoding'
import { appWithProblems, send } from './support'

const Query = t.Object(
  {
    a: t.Optional(t.String({ maxLength: 3, pattern: '^[a-z ]*$' })),
    b: t.Optional(t.String({ maxLength: 3, pattern: '^[a-z ]*$' })),
    c: t.Optional(t.String()),
  },
  { additionalProperties: true },
)

const build = () =>
  appWithProblems()
    .get('/', ({ query }) => ({ query }), { query: Query, transform: strictQueryEncoding(Query) })
    .get('/other', ({ query }) => ({ query }))

const refused = (...errors: [string, string][]) => ({
  type: 'about:blank',
  title: 'Unprocessable Content',
  status: 422,
  detail: 'The request does not fit the schema',
  errors: errors.map(([field, message]) => ({ field, message })),
})
const BROKEN = 'is not valid percent-encoding'

describe('strictQueryEncoding(schema)', () => {
  test('?a=%ZZ: 422 naming a', async () => {
    const reply = await send(build(), '/?a=%ZZ')
    expect(reply.status).toBe(422)
    expect(reply.headers.get('content-type')).toBe('application/problem+json')
    expect(reply.body).toEqual(refused(['a', BROKEN]))
  })

  test("every known parameter's broken value is named, in the schema's order, with the query's other violations", async () => {
    const reply = await send(build(), '/?c=%E0%A4%A&b=TOOLONG&a=%ZZ')
    expect(reply.status).toBe(422)
    expect(reply.body).toEqual(refused(['a', BROKEN], ['b', 'is not valid'], ['c', BROKEN]))
  })

  test('unknown parameters are ignored however they are encoded, a name that does not decode too', async () => {
    const reply = await send(build(), '/?x=%ZZ&%ZZ=1&a=ok')
    expect(reply.status).toBe(200)
    expect(reply.body.query.a).toBe('ok')
    // A route without a query schema reads none of it.
    expect((await send(build(), '/other?q=%ZZ')).status).toBe(200)
  })

  test('of a repeated parameter the last counts: a broken earlier value is no fault, a broken last one is', async () => {
    const earlier = await send(build(), '/?a=%ZZ&a=ok')
    expect([earlier.status, earlier.body.query.a]).toEqual([200, 'ok'])
    expect((await send(build(), '/?a=ok&a=%ZZ')).body).toEqual(refused(['a', BROKEN]))
  })

  test('a known name spelled with escapes is that parameter', async () => {
    expect((await send(build(), '/?%61=%ZZ')).body).toEqual(refused(['a', BROKEN]))
  })

  test('sound encoding passes through, decoded', async () => {
    const reply = await send(build(), '/?a=%20x%C3%A9&b=y+z&c')
    expect(reply.status).toBe(422)
    expect(reply.body).toEqual(refused(['a', 'is not valid']))
    const fine = await send(build(), '/?a=%20xy&b=y+z&c')
    expect(fine.status).toBe(200)
    expect(fine.body).toEqual({ query: { a: ' xy', b: 'y z', c: '' } })
  })
})
