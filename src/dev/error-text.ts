/**
 * What the dev loop prints for a failure: the message and where it happened (a parse error's
 * `file:line:column`, or the first frame of a stack), so that a broken save points at its line.
 */
interface Position {
  file?: string
  line: number
  column: number
}

const at = (where: string) => where.replace(/^file:\/\//, '')

export const errorText = (error: unknown): string => {
  if (error instanceof AggregateError && error.errors.length > 0) return error.errors.map(errorText).join('; ')
  const { message, position, stack } = (error ?? {}) as { message?: unknown; position?: Position | null; stack?: unknown }
  if (typeof message !== 'string') return String(error)
  // (A PostgreSQL error's `position` is an offset in its query, not a place in our code.)
  if (typeof position === 'object' && position !== null && typeof position.line === 'number')
    return `${message} (${at(position.file ?? '')}:${position.line}:${position.column})`
  const frame = typeof stack === 'string' ? /^\s+at (?:.*\()?(\S+?:\d+:\d+)\)?$/m.exec(stack)?.[1] : undefined
  return frame ? `${message} (${at(frame)})` : message
}
