/**
 * Standard output for log lines: in batches, and never stalling the service on a full pipe.
 *
 * Bun makes a piped stdout non-blocking, so a write can find the pipe full (a log shipper or a
 * container runtime reading late). pino's own destination then sleeps 100 ms with the whole event
 * loop stopped, again and again until the reader catches up (profiled: 95 % of a piped logging
 * loop was that sleep). Here, what the pipe does not take waits in memory and is retried 1 ms later
 * while the service goes on; only past `MAX_WAITING` characters (until half of it is written), or
 * at exit, does the writer wait for the reader, 1 ms at a time, so memory stays bounded and no line
 * is lost.
 */
import { writeSync } from 'node:fs'

// A batch goes out when it reaches this many characters, or this long after its first line: a
// write per 4 KiB of request lines instead of one per line (which cost about a tenth of `GET /`'s
// throughput).
const BATCH_CHARACTERS = 16 * 1024
const BATCH_MS = 20
const RETRY_MS = 1
// How much may wait for a slow reader (characters, bytes once a batch is encoded) before the writer waits with it.
const MAX_WAITING = 8 * 1024 * 1024
// At exit, how long to keep trying a reader that takes nothing.
const EXIT_PATIENCE_MS = 5000

// What a pipe writes in one piece (PIPE_BUF on Linux).
const ATOMIC_BYTES = 4096
const NEWLINE = 0x0a

/** How many bytes of `bytes` to write at once: whole lines, at most `ATOMIC_BYTES` of them if they fit. */
const wholeLines = (bytes: Buffer) => {
  if (bytes.length <= ATOMIC_BYTES) return bytes.length
  const end = bytes.lastIndexOf(NEWLINE, ATOMIC_BYTES - 1)
  if (end !== -1) return end + 1
  const longLine = bytes.indexOf(NEWLINE, ATOMIC_BYTES)
  return longLine === -1 ? bytes.length : longLine + 1
}

const pause = new Int32Array(new SharedArrayBuffer(4))
const sleepSync = (ms: number) => Atomics.wait(pause, 0, 0, ms)

/** A destination for whole lines on file descriptor `fd`, written as described above. */
export const lineBatches = (fd: number) => {
  // Lines not yet handed to the OS, and the part of a batch the OS has not taken yet.
  let lines: string[] = []
  let characters = 0
  let unwritten: Buffer | undefined
  let timer: ReturnType<typeof setTimeout> | undefined

  /**
   * Writes what it can of `unwritten`; false when the pipe is full. Other errors drop the output:
   * logging never fails a request. Workers share one stdout, so each write is whole lines of at
   * most `ATOMIC_BYTES`, which a pipe takes all at once or not at all: another process's lines can
   * come between two writes, never inside a line (unless that line alone is longer).
   */
  const writeOut = () => {
    while (unwritten !== undefined) {
      try {
        const taken = writeSync(fd, unwritten, 0, wholeLines(unwritten))
        unwritten = taken < unwritten.length ? unwritten.subarray(taken) : undefined
      } catch (error) {
        if ((error as { code?: string }).code === 'EAGAIN') return false
        unwritten = undefined
      }
    }
    return true
  }

  /** Hands everything to the OS that it takes now; true when nothing is left. */
  const flush = (): boolean => {
    clearTimeout(timer)
    timer = undefined
    if (!writeOut()) return false
    if (lines.length === 0) return true
    // Joined once per batch: a string grown line by line was slow to write out.
    unwritten = Buffer.from(lines.join(''))
    lines = []
    characters = 0
    return writeOut()
  }

  const flushSoon = (delay: number) => {
    timer ??= setTimeout(() => {
      timer = undefined
      if (!flush()) flushSoon(RETRY_MS)
    }, delay).unref()
  }

  const waiting = () => characters + (unwritten?.length ?? 0)

  /** Waits for the reader, 1 ms at a time, until no more than `left` characters wait or `patience` runs out. */
  const drain = (patience: number, left = 0) => {
    const deadline = performance.now() + patience
    while (!flush() && waiting() > left && performance.now() < deadline) sleepSync(RETRY_MS)
  }

  process.on('exit', () => drain(EXIT_PATIENCE_MS))
  return {
    write(line: string) {
      lines.push(line)
      characters += line.length
      if (waiting() >= MAX_WAITING) drain(Number.POSITIVE_INFINITY, MAX_WAITING / 2)
      else if (characters >= BATCH_CHARACTERS && unwritten === undefined) {
        if (!flush()) flushSoon(RETRY_MS)
      } else flushSoon(unwritten === undefined ? BATCH_MS : RETRY_MS)
    },
  }
}
