import pino, { type DestinationStream } from 'pino'
import type { LogLevel } from './config'

export type Logger = Record<LogLevel, (message: string, fields?: Record<string, unknown>) => void>

/**
 * JSON lines on stdout through pino, at `level` and above: `time`, `level`, `message`, then the
 * fields. Written synchronously and in this thread: pino's worker-thread transports do not work
 * in a compiled binary, and a line must not be lost when the process exits.
 */
export const createLogger = (level: LogLevel, destination: DestinationStream = pino.destination({ dest: 1, sync: true })): Logger => {
  const log = pino(
    {
      level,
      base: undefined,
      messageKey: 'message',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  )
  return {
    debug: (message, fields = {}) => log.debug(fields, message),
    info: (message, fields = {}) => log.info(fields, message),
    warn: (message, fields = {}) => log.warn(fields, message),
    error: (message, fields = {}) => log.error(fields, message),
  }
}
