import type { LogLevel } from './config'

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export type Logger = Record<LogLevel, (message: string, fields?: Record<string, unknown>) => void>

/** One JSON object per line on stdout, at `level` and above. */
export const createLogger = (level: LogLevel, write: (line: string) => void = (line) => process.stdout.write(line)): Logger => {
  const at = (name: LogLevel) => (message: string, fields: Record<string, unknown> = {}) => {
    if (RANK[name] < RANK[level]) return
    write(`${JSON.stringify({ time: new Date().toISOString(), level: name, message, ...fields })}\n`)
  }
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}
