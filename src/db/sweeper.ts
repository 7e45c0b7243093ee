/**
 * `sweeper(sweep)`: a function that starts `sweep` at its first call, then at most once a minute,
 * without waiting for it. What a sweep deletes is already ignored by every reader, so a sweep that
 * fails (the database is down) is simply left to the next one.
 */
export const sweeper = (sweep: () => Promise<unknown>, intervalMs = 60_000) => {
  let last: number | undefined
  return () => {
    const now = performance.now()
    if (last !== undefined && now - last < intervalMs) return
    last = now
    sweep().catch(() => {})
  }
}
