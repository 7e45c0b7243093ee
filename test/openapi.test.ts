import { beforeAll, describe, expect, test } from 'bun:test'
import type { OpenAPIV3 } from 'openapi-types'
import { ContractViolation, type Contract } from './support/contract'
import { testContract } from './support/http'

type Schema = OpenAPIV3.SchemaObject

let contract: Contract
let document: OpenAPIV3.Document
beforeAll(async () => {
  contract = await testContract()
  document = contract.document
})

/** Every schema in `schema`, itself included, with where it is. */
const walk = function* (schema: Schema, where: string): Generator<[string, Schema]> {
  yield [where, schema]
  for (const [name, property] of Object.entries(schema.properties ?? {})) yield* walk(property as Schema, `${where}.${name}`)
  if (schema.type === 'array') yield* walk(schema.items as Schema, `${where}[]`)
  for (const [i, part] of (schema.allOf ?? []).entries()) yield* walk(part as Schema, `${where}.allOf[${i}]`)
}

/** Every schema of the document: bodies, responses, parameters and headers. */
const allSchemas = () => {
  const found: [string, Schema][] = []
  for (const { method, template, operation } of contract.operations) {
    const at = `${method.toUpperCase()} ${template}`
    for (const parameter of (operation.parameters ?? []) as OpenAPIV3.ParameterObject[])
      found.push(...walk(parameter.schema as Schema, `${at} ${parameter.in} ${parameter.name}`))
    const body = operation.requestBody as OpenAPIV3.RequestBodyObject | undefined
    for (const [type, media] of Object.entries(body?.content ?? {})) found.push(...walk(media.schema as Schema, `${at} body ${type}`))
    for (const [status, response] of Object.entries(operation.responses) as [string, OpenAPIV3.ResponseObject][]) {
      for (const [name, header] of Object.entries(response.headers ?? {}) as [string, OpenAPIV3.HeaderObject][])
        found.push(...walk(header.schema as Schema, `${at} ${status} header ${name}`))
      for (const [type, media] of Object.entries(response.content ?? {}))
        found.push(...walk(media.schema as Schema, `${at} ${status} ${type}`))
    }
  }
  return found
}

describe('the OpenAPI document', () => {
  test('every string has a maxLength', () => {
    const unbounded = allSchemas().filter(([, schema]) => schema.type === 'string' && typeof schema.maxLength !== 'number')
    expect(unbounded.map(([where]) => where)).toEqual([])
  })

  test('every integer has a minimum, a maximum and a format', () => {
    const loose = allSchemas().filter(
      ([, schema]) => schema.type === 'integer' && (schema.minimum === undefined || schema.maximum === undefined || !schema.format),
    )
    expect(loose.map(([where]) => where)).toEqual([])
  })

  test('every array has a maxItems', () => {
    expect(
      allSchemas()
        .filter(([, schema]) => schema.type === 'array' && schema.maxItems === undefined)
        .map(([where]) => where),
    ).toEqual([])
  })

  test('request bodies forbid additional properties and show the rules of each field', () => {
    for (const template of ['/users', '/users/{id}']) {
      const operation = contract.operations.find((entry) => entry.template === template && ['post', 'patch'].includes(entry.method))!
      const media = (operation.operation.requestBody as OpenAPIV3.RequestBodyObject).content['application/json']!
      const schema = media.schema as Schema
      expect(schema.additionalProperties).toBe(false)
      expect(media.schema).toHaveProperty('example')
      expect(schema.properties!.age).toMatchObject({ type: 'integer', minimum: 1, maximum: 120 })
      expect(schema.properties!.name).toMatchObject({ type: 'string', minLength: 1, maxLength: 100 })
      expect(schema.properties!.email).toMatchObject({ type: 'string', format: 'email', maxLength: 254 })
      // Our own keywords (trimming) stay out of the document.
      expect(Object.keys(schema.properties!.name!).sort()).toEqual(['description', 'example', 'maxLength', 'minLength', 'pattern', 'type'])
    }
  })

  test('every response has a description; every error is problem+json with the Problem schema and an example', () => {
    for (const { method, template, operation } of contract.operations) {
      for (const [status, response] of Object.entries(operation.responses) as [string, OpenAPIV3.ResponseObject][]) {
        const where = `${method} ${template} ${status}`
        expect(response.description, where).toBeString()
        expect(response.description.length, where).toBeGreaterThan(0)
        if (Number(status) < 400) continue
        expect(Object.keys(response.content ?? {}), where).toEqual(['application/problem+json'])
        const media = response.content!['application/problem+json']!
        const schema = media.schema as Schema
        const problem = schema.allOf ? (schema.allOf[0] as Schema) : schema
        expect(problem, where).toBe(document.components!.schemas!.Problem as Schema)
        expect(media.example, where).toMatchObject({ type: 'about:blank', status: Number(status) })
        if (status === '503') expect((response.headers?.['Retry-After'] as OpenAPIV3.HeaderObject).required, where).toBe(true)
      }
    }
  })

  test('every body example fits its schema', () => {
    let examples = 0
    for (const { method, template, operation } of contract.operations) {
      const body = operation.requestBody as OpenAPIV3.RequestBodyObject | undefined
      const media = [
        ...Object.values(body?.content ?? {}),
        ...Object.values(operation.responses).flatMap((response) => Object.values((response as OpenAPIV3.ResponseObject).content ?? {})),
      ]
      for (const { schema, example } of media) {
        const value = example ?? (schema as Schema).example
        expect(value, `${method} ${template}: an example`).toBeDefined()
        expect(contract.validate(schema as Schema, value), `${method} ${template}: ${JSON.stringify(value)}`).toBeUndefined()
        examples++
      }
    }
    expect(examples).toBeGreaterThan(30)
  })

  test('every parameter is described', () => {
    const parameters = contract.operations.flatMap(({ operation }) => (operation.parameters ?? []) as OpenAPIV3.ParameterObject[])
    expect(parameters.filter((parameter) => !parameter.description).map((parameter) => parameter.name)).toEqual([])
    const list = contract.operations.find((entry) => entry.method === 'get' && entry.template === '/users')!
    const byName = Object.fromEntries(((list.operation.parameters ?? []) as OpenAPIV3.ParameterObject[]).map((p) => [p.name, p]))
    expect(byName.limit!.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 1000 })
    expect(byName.after!.schema).toMatchObject({ type: 'integer', minimum: 0 })
  })
})

describe('the response check', () => {
  const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
    status,
    headers: new Headers({ 'content-type': status >= 400 ? 'application/problem+json' : 'application/json', 'x-request-id': 'r-1', ...headers }),
    text: body === undefined ? '' : JSON.stringify(body),
  })
  const user = {
    id: 1,
    name: 'Ada',
    email: 'ada@example.com',
    age: 36,
    role: 'user',
    created_at: '2026-11-23T10:00:00.000Z',
    updated_at: '2026-11-23T10:00:00.000Z',
  }
  const problem = (status: number, title: string) => ({ type: 'about:blank', title, status, detail: 'x' })
  // What every single-user response carries.
  const tagged = { etag: '"1-1"', 'cache-control': 'private' }
  const violation = (run: () => void) => {
    expect(run).toThrow(ContractViolation)
    try {
      run()
    } catch (error) {
      return (error as Error).message
    }
  }

  test('passes what the document describes', () => {
    contract.check('GET', '/users/1', reply(200, user, tagged))
    contract.check('GET', '/users/1', { status: 304, headers: new Headers({ ...tagged, 'x-request-id': 'r-1' }), text: '' })
    contract.check('HEAD', '/users/1', { ...reply(200, undefined, tagged), text: '' })
    contract.check('POST', '/users', reply(201, user, { location: '/users/1', ...tagged }))
    contract.check('DELETE', '/users/1', { status: 204, headers: new Headers({ 'x-request-id': 'r-1' }), text: '' })
    contract.check('PUT', '/users/1', reply(405, problem(405, 'Method Not Allowed'), { allow: 'GET' }))
    contract.check('GET', '/nowhere', reply(404, problem(404, 'Not Found')))
  })

  test('fails a status the operation does not list', () => {
    expect(violation(() => contract.check('GET', '/users/1', reply(409, problem(409, 'Conflict'))))).toContain('does not list 409')
    expect(violation(() => contract.check('GET', '/', reply(404, problem(404, 'Not Found'))))).toContain('does not list 404')
  })

  test('fails a body that does not fit the schema', () => {
    expect(violation(() => contract.check('GET', '/users/1', reply(200, { ...user, id: '1' }, tagged)))).toContain('/id must be integer')
    expect(violation(() => contract.check('GET', '/users/1', reply(200, { ...user, email: 'a..b@example.com' }, tagged)))).toContain(
      '/email must match format',
    )
    expect(violation(() => contract.check('GET', '/users/1', reply(200, { ...user, password: 'secret' }, tagged)))).toContain('additional properties')
    expect(violation(() => contract.check('GET', '/users', reply(200, Array(1001).fill(user), { 'cache-control': 'private' })))).toContain(
      'must NOT have more than 1000 items',
    )
    expect(violation(() => contract.check('GET', '/users/1', reply(404, { ...problem(404, 'Not Found'), status: '404' })))).toContain(
      '/status',
    )
  })

  test('fails a missing required header, a wrong header and an undocumented media type', () => {
    expect(violation(() => contract.check('POST', '/users', reply(201, user, tagged)))).toContain('required header Location')
    expect(violation(() => contract.check('POST', '/users', reply(201, user, { ...tagged, location: '/elsewhere' })))).toContain('header Location')
    expect(violation(() => contract.check('GET', '/users/1', reply(200, user, { 'cache-control': 'private' })))).toContain('required header ETag')
    expect(violation(() => contract.check('GET', '/users/1', { status: 304, headers: new Headers(tagged), text: '' }))).toContain('required header X-Request-Id')
    expect(violation(() => contract.check('GET', '/users/1', reply(200, user, { ...tagged, etag: 'W/"1-1"' })))).toContain('header ETag')
    expect(violation(() => contract.check('GET', '/users/1', reply(503, problem(503, 'Service Unavailable'))))).toContain('Retry-After')
    expect(violation(() => contract.check('GET', '/users/1', reply(200, user, { ...tagged, 'content-type': 'text/plain' })))).toContain('text/plain')
    expect(
      violation(() => contract.check('GET', '/users/1', reply(404, problem(404, 'Not Found'), { 'content-type': 'application/json' }))),
    ).toContain('application/json')
  })

  test('fails a header of the service that the response’s documentation does not name', () => {
    const conflict = problem(409, 'Conflict')
    contract.check('POST', '/users', reply(409, conflict, { 'idempotent-replayed': 'true' }))
    expect(violation(() => contract.check('GET', '/users/1', reply(200, user, { ...tagged, 'idempotent-replayed': 'true' })))).toContain(
      'idempotent-replayed is sent but not documented',
    )
    expect(violation(() => contract.check('GET', '/users/1', reply(404, problem(404, 'Not Found'), { etag: '"1-1"' })))).toContain('etag is sent but not documented')
    // An HTTP header the service gives no meaning of its own is not checked.
    contract.check('GET', '/users/1', reply(200, user, { ...tagged, 'x-powered-by': 'Bun' }))
  })

  test('fails a body where the document has none, and the wrong answer off the document', () => {
    expect(violation(() => contract.check('DELETE', '/users/1', reply(204, {})))).toContain('no body')
    expect(violation(() => contract.check('PUT', '/users/1', reply(404, problem(404, 'Not Found'))))).toContain('must be 405')
    expect(violation(() => contract.check('PUT', '/users/1', reply(405, problem(405, 'Method Not Allowed'))))).toContain('without Allow')
    expect(violation(() => contract.check('GET', '/nowhere', reply(200, {})))).toContain('must be 404')
  })
})
