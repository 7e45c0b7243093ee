/**
 * What a problem is (RFC 9457 problem details): the `Problem` thrown anywhere in a request, the
 * limits its body keeps to, and `define`, with which `./problems` writes its catalogue.
 */

/** At most this many field errors are listed; the OpenAPI document says so too. */
export const MAX_FIELD_ERRORS = 100
/** Field names are echoed up to this many characters. */
export const MAX_FIELD_NAME_LENGTH = 100

/** A field name as a problem body echoes it: cut at `MAX_FIELD_NAME_LENGTH` code points. */
export const echoedFieldName = (name: string) => [...name].slice(0, MAX_FIELD_NAME_LENGTH).join('')
/** What a 503's `Retry-After` says. */
export const RETRY_AFTER_SECONDS = 5
/** The deepest nesting a JSON body may have (RFC 8259 §9 lets a parser set one). */
export const MAX_JSON_DEPTH = 32

/** One violated rule: `field` names the body field, path parameter or query parameter at fault. */
export interface FieldError {
  field: string
  message: string
}

/** The status codes a problem can have, with the `title` each gives its problems. */
export const STATUS_TITLES = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
} as const

export type ProblemStatus = keyof typeof STATUS_TITLES

/** What the documentation of a problem may depend on: the running configuration. */
export interface DocumentedSettings {
  bodyLimit: number
}

interface Definition<A extends unknown[]> {
  status: ProblemStatus
  /** When a client gets it, for the OpenAPI document. */
  description: string | ((settings: DocumentedSettings) => string)
  detail: string | ((...args: A) => string)
  errors?: (...args: A) => FieldError[] | undefined
  headers?: (...args: A) => Record<string, string>
  /** Extra members of the body, e.g. `database: "down"`. */
  extensions?: (...args: A) => Record<string, unknown>
  /** The arguments of the documentation's example. */
  example: (settings: DocumentedSettings) => NoInfer<A>
}

/** An error a client can act on. Thrown anywhere in a request, it becomes its problem+json response. */
export class Problem extends Error {
  readonly title: string
  constructor(
    readonly status: ProblemStatus,
    readonly detail: string,
    readonly errors: FieldError[] | undefined,
    readonly headers: Record<string, string>,
    readonly extensions: Record<string, unknown>,
  ) {
    super(detail)
    this.name = 'Problem'
    this.title = STATUS_TITLES[status]
  }

  /** The response body. */
  toJSON() {
    return { ...this.extensions, type: 'about:blank', title: this.title, status: this.status, detail: this.detail, ...(this.errors ? { errors: this.errors } : {}) }
  }
}

/** A catalogue entry: call it to make the error; `definition` documents it. */
export type ProblemFactory<A extends unknown[]> = ((...args: A) => Problem) & { definition: Definition<A> }

export const define = <A extends unknown[]>(definition: Definition<A>): ProblemFactory<A> =>
  Object.assign(
    (...args: A) =>
      new Problem(
        definition.status,
        typeof definition.detail === 'string' ? definition.detail : definition.detail(...args),
        definition.errors?.(...args),
        definition.headers?.(...args) ?? {},
        definition.extensions?.(...args) ?? {},
      ),
    { definition },
  )

const fromRequest = new WeakSet<Problem>()

/**
 * `problem`, marked as made from the request alone, before any statement ran (a malformed body, a
 * rule of the account fields): such a refusal checks the caller's token first (see
 * `../auth/token-first`). A refusal a statement made has checked it already.
 */
export const madeFromRequest = (problem: Problem) => (fromRequest.add(problem), problem)

/** Whether `problem` was marked by `madeFromRequest`. */
export const isMadeFromRequest = (problem: Problem) => fromRequest.has(problem)
