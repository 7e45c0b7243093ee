/** RFC 9457 problem details: the one shape of every error this service answers. */

/** At most this many field errors are listed; the OpenAPI document says so too. */
export const MAX_FIELD_ERRORS = 100
/** Field names are echoed up to this many characters. */
export const MAX_FIELD_NAME_LENGTH = 100

/** One violated rule: `field` names the body field, path parameter or query parameter at fault. */
export interface FieldError {
  field: string
  message: string
}

export interface ProblemBody {
  type: 'about:blank'
  title: string
  status: number
  detail: string
  errors?: FieldError[]
}

/** The `title` of each status this service answers with a problem. */
export const TITLES: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

/**
 * An error a client can act on. Thrown anywhere in a request (parser, service), it becomes the
 * problem+json response with its status, detail, field errors and headers.
 */
export class Problem extends Error {
  readonly errors?: FieldError[]
  readonly headers: Record<string, string>
  /** Extra members of the body, e.g. `database: "down"`. */
  readonly extensions: Record<string, unknown>

  constructor(
    readonly status: number,
    readonly detail: string,
    options: { errors?: FieldError[]; headers?: Record<string, string>; extensions?: Record<string, unknown> } = {},
  ) {
    super(detail)
    this.name = 'Problem'
    this.errors = options.errors
    this.headers = options.headers ?? {}
    this.extensions = options.extensions ?? {}
  }
}

const problemBody = ({ status, detail, errors, extensions }: Problem): ProblemBody => ({
  ...extensions,
  type: 'about:blank',
  title: TITLES[status] ?? 'Error',
  status,
  detail,
  ...(errors ? { errors } : {}),
})

export const problemResponse = (problem: Problem, headers: Record<string, string>) =>
  new Response(JSON.stringify(problemBody(problem)), {
    status: problem.status,
    headers: { ...headers, ...problem.headers, 'content-type': 'application/problem+json' },
  })
