import pino, { type DestinationStream } from 'pino'
import { lineBatches } from './stdout-lines'

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const

export type LogLevel = (typeof LOG_LEVELS)[number]

export type Logger = Record<LogLevel, (message: string, fields?: Record<string, unknown>) => void>

export interface LoggerOptions {
  /** One readable line per event instead of JSON. Default: when writing to stdout and it is a terminal. */
  pretty?: boolean
  /** Coloured levels in pretty lines. Default: pretty to a terminal, unless `NO_COLOR` is set. */
  colour?: boolean
}

const LEVEL_COLOURS: Record<string, number> = { debug: 90, info: 32, warn: 33, error: 31 }
const paint = (code: number, text: string) => `\x1b[${code}m${text}\x1b[0m`

/** A value as it reads after `key=`: quoted only where a space, quote or `=` would make it ambiguous. */
const showValue = (value: unknown) =>
  typeof value === 'string' ? (/^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)) : JSON.stringify(value)

/**
 * `key=value` pairs, nested objects flattened to `error.name=...`. Stack traces are set aside to be
 * printed under the line, where they read as they would from an uncaught error.
 */
const flatten = (fields: Record<string, unknown>, prefix: string, pairs: string[], stacks: string[]) => {
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'stack' && typeof value === 'string') stacks.push(value)
    else if (value !== null && typeof value === 'object' && !Array.isArray(value))
      flatten(value as Record<string, unknown>, `${prefix}${key}.`, pairs, stacks)
    else pairs.push(`${prefix}${key}=${showValue(value)}`)
  }
}

/** The wall-clock time on this machine, to the millisecond: a developer reads it against their own clock. */
const clockTime = (iso: unknown) => {
  const date = new Date(String(iso))
  const two = (n: number) => String(n).padStart(2, '0')
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`
}

/** A request as `GET /users/:id 200 1.2ms` (its id is in the response header); anything else by its message. */
const headline = (message: unknown, fields: Record<string, unknown>) => {
  if (message !== 'request') return { text: String(message), rest: fields }
  const { request_id: _, method, route, status, duration_ms, ...rest } = fields
  return { text: `${method} ${route} ${status}${duration_ms === undefined ? '' : ` ${duration_ms}ms`}`, rest }
}

/**
 * One event as a developer reads it: `12:01:02.345 INFO  GET /users/:id 200 1.2ms` for a request,
 * `12:01:02.345 WARN  database unavailable key=value ...` for the rest.
 */
const prettyLine = (event: Record<string, unknown>, colour = false) => {
  const { time, level, message, ...fields } = event
  const label = String(level).toUpperCase().padEnd(5)
  const clock = clockTime(time)
  const head = colour ? `${paint(2, clock)} ${paint(LEVEL_COLOURS[String(level)] ?? 0, label)}` : `${clock} ${label}`
  const { text, rest } = headline(message, fields)
  const pairs: string[] = []
  const stacks: string[] = []
  flatten(rest, '', pairs, stacks)
  return `${[[head, text, ...pairs].join(' '), ...stacks].join('\n')}\n`
}

/** A destination that turns pino's JSON lines into pretty ones before passing them on. */
const prettyDestination = (destination: DestinationStream, colour: boolean): DestinationStream => ({
  write: (line: string) => destination.write(prettyLine(JSON.parse(line), colour)),
})

// Standard output, made once per process and kept on the global object: a logger made again (a
// command after start-up, or this module evaluated again by each reload of `bun run dev`) shares
// it, rather than adding a batch and an exit listener of its own.
const STDOUT = Symbol.for('users-api.stdout-lines')
const stdoutLines = (): DestinationStream =>
  ((globalThis as { [STDOUT]?: DestinationStream })[STDOUT] ??= lineBatches(1))

/**
 * JSON lines on stdout through pino, at `level` and above: `time`, `level`, `message`, then the
 * fields; pretty lines instead in a terminal (see `LoggerOptions`). Written in this thread, in batches
 * (see `./stdout-lines`): pino's worker-thread transports (pino-pretty among them) do not work in
 * a compiled binary, its asynchronous destination lost lines at exit under Bun, and its synchronous
 * one stops the service 100 ms at a time when a piped stdout is full.
 */
export const createLogger = (level: LogLevel, destination?: DestinationStream, options: LoggerOptions = {}): Logger => {
  // Only stdout's own terminal counts: a destination passed in (a test's capture) gets JSON unless asked.
  const toTerminal = destination === undefined && process.stdout.isTTY === true
  const pretty = options.pretty ?? toTerminal
  const colour = options.colour ?? (pretty && toTerminal && !process.env.NO_COLOR)
  const output = destination ?? stdoutLines()
  const log = pino(
    {
      level,
      base: undefined,
      messageKey: 'message',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pretty ? prettyDestination(output, colour) : output,
  )
  return {
    debug: (message, fields = {}) => log.debug(fields, message),
    info: (message, fields = {}) => log.info(fields, message),
    warn: (message, fields = {}) => log.warn(fields, message),
    error: (message, fields = {}) => log.error(fields, message),
  }
}
