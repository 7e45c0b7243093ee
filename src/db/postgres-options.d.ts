// Options postgres.js reads that its types leave out.
import type { Socket } from 'node:net'
import type { PostgresType } from 'postgres'

declare module 'postgres' {
  interface Options<T extends Record<string, PostgresType>> {
    /**
     * Statements sent on a busy connection before its first answer; 0: none. Leave it out for the
     * default (100): given as `undefined` it turns pipelining off too.
     */
    max_pipeline?: number
    /** Makes each connection's socket instead of the driver. */
    socket?: () => Socket | Promise<Socket>
  }
}
