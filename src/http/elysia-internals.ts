/**
 * Every use of Elysia's internals, in one place: the route table with each route's schemas, and
 * what a ValidationError or ParseError carries. `test/elysia-internals.test.ts` fails loudly if an
 * Elysia upgrade changes any of them.
 */
import { ParseError, ValidationError, type AnyElysia, type TSchema } from 'elysia'
import type { ValueError } from '@sinclair/typebox/errors'

/** A route as the app serves it, with the schemas of the parts Elysia validates. */
export interface RouteEntry {
  method: string
  path: string
  query?: TSchema
  body?: TSchema
}

const isSchema = (value: unknown): value is TSchema => typeof value === 'object' && value !== null

/** The routes `app` serves (`app.routes`, and each route's `hooks` for its schemas). */
export const routeTable = (app: AnyElysia): RouteEntry[] =>
  app.routes.map(({ method, path, hooks }) => {
    const { query, body } = (hooks ?? {}) as { query?: unknown; body?: unknown }
    return { method, path, ...(isSchema(query) ? { query } : {}), ...(isSchema(body) ? { body } : {}) }
  })

/** The part of a request Elysia rejected, its value, and every rule that value breaks. */
export interface ValidationFailure {
  part: 'params' | 'query' | 'body' | string
  value: unknown
  errors(): Iterable<ValueError>
}

export const validationFailure = (error: ValidationError): ValidationFailure => {
  const validator = error.validator as { Errors?: (value: unknown) => Iterable<ValueError> } | undefined
  return { part: error.type, value: error.value, errors: () => validator?.Errors?.(error.value) ?? [] }
}

/** The error our body parser threw, which Elysia hands on wrapped in a ParseError. */
export const parserError = (error: ParseError): unknown => error.cause
