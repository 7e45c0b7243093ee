import { describe, expect, test } from 'bun:test'
import { Elysia, ParseError, ValidationError, t } from 'elysia'
import { parserError, routeTable, validationFailure } from '../../src/http/elysia-internals'

// Everything the service reads of Elysia beyond its documented API. If an upgrade changes any of
// it, this fails here, by name, rather than as a wrong 405 or a 422 that lists too little.
describe('Elysia internals the service relies on', () => {
  const query = t.Object({ n: t.Numeric() })
  const body = t.Object({ name: t.String() })
  let caught: unknown
  const marker = new Error('from the parser')
  const app = new Elysia()
    .onError(({ error }) => {
      caught = error
      return new Response(null, { status: 599 })
    })
    .post('/things', () => 'ok', { query, body })
    .get('/things/:id', () => 'ok')
    .post('/parsed', () => 'ok', { parse: [() => { throw marker }] })

  test('the route table lists every route with its method, path and schemas', () => {
    const table = routeTable(app)
    expect(table.map(({ method, path }) => `${method} ${path}`)).toEqual(['POST /things', 'GET /things/:id', 'POST /parsed'])
    expect(table[0]!.query).toBe(query)
    expect(table[0]!.body).toBe(body)
    expect(table[1]).toEqual({ method: 'GET', path: '/things/:id' })
  })

  test('a ValidationError names the part, its value and every broken rule', async () => {
    await app.handle(new Request('http://localhost/things?n=x', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }))
    expect(caught).toBeInstanceOf(ValidationError)
    const failure = validationFailure(caught as ValidationError)
    expect(failure.part).toBe('query')
    expect(failure.value).toEqual({ n: 'x' })
    expect([...failure.errors()].map((error) => error.path)).toContain('/n')
  })

  test('an error thrown by a parser arrives as the cause of a ParseError', async () => {
    await app.handle(new Request('http://localhost/parsed', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }))
    expect(caught).toBeInstanceOf(ParseError)
    expect(parserError(caught as ParseError)).toBe(marker)
  })
})
