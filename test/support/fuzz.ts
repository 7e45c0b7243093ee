/**
 * How the property tests run: seeded and reproducible, 1,000 runs each unless told otherwise, and
 * after every run a check that no global (`Object.prototype` first of all) was poisoned.
 *
 * - `FC_SEED=<n>` replays a failure (the failure message gives the seed and the path of the shrunk
 *   counter-example); without it each test run draws a fresh seed.
 * - `FC_PATH=<path>` with the same seed jumps straight to that counter-example.
 * - `FC_RUNS=<n>` changes the number of runs of each property.
 */
// Loading `bun:ffi` replaces `Bun.FFI`'s functions; the embedded database loads it on first use
// (src/db/data-dir-claim.ts). Loaded here first, before the globals are captured, so that a fuzz
// file run alone is not taken for poisoning.
import 'bun:ffi'
import { assertNoPoisoning, restoreGlobals } from '@fast-check/poisoning'
import fc from 'fast-check'

const integerFrom = (name: string): number | undefined => {
  const value = process.env[name]
  if (value === undefined || value === '') return undefined
  if (!/^-?[0-9]+$/.test(value)) throw new Error(`${name}=${JSON.stringify(value)} must be an integer`)
  return Number(value)
}

/** The seed of every property in this test run. */
const FC_SEED = integerFrom('FC_SEED') ?? (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) | 0
/** Runs per property. */
export const FC_RUNS = integerFrom('FC_RUNS') ?? 1000
const FC_PATH = process.env.FC_PATH || undefined

// Globals are compared with how they were when this module was first loaded. Bun fills in
// `PerformanceObserver` and `process` (its stdin) lazily, which is no poisoning.
const LAZY_GLOBALS = /^(?:PerformanceObserver|process)$/
// Walking every global takes milliseconds, too long to do after each of thousands of runs: after
// each run only the built-ins a request touches (Object.prototype first) are checked, and every
// global once a property is done.
const ALL_BUT_BUILT_INS = /^(?!(?:Object|Array|Function|String|Number|Boolean|Symbol|JSON|Promise|Map|Set|RegExp|Error|Reflect)$)/

const noPoisoning = (ignoredRootRegex: RegExp) => () => {
  try {
    assertNoPoisoning({ ignoredRootRegex })
  } catch (error) {
    // Put them back, so one poisoning does not fail every test after it.
    restoreGlobals()
    throw error
  }
}

/** What `fuzz` ran, for the summary line. */
export interface FuzzReport {
  runs: number
  ms: number
}

/**
 * Runs `property` `FC_RUNS` times (or `runs`) with the run's seed. On failure it throws fast-check's
 * report (seed, path, the shrunk counter-example) preceded by the command that replays it.
 */
export const fuzz = async <Ts>(label: string, property: fc.IAsyncProperty<Ts>, runs = FC_RUNS): Promise<FuzzReport> => {
  const started = performance.now()
  const details = await fc.check(property, {
    seed: FC_SEED,
    numRuns: runs,
    ...(FC_PATH ? { path: FC_PATH } : {}),
    plugins: [fc.afterEach(noPoisoning(ALL_BUT_BUILT_INS))],
  })
  noPoisoning(LAZY_GLOBALS)()
  const ms = Math.round(performance.now() - started)
  if (details.failed) {
    const replay = `FC_SEED=${details.seed}${details.counterexamplePath ? ` FC_PATH=${details.counterexamplePath}` : ''}`
    const error = details.errorInstance
    const cause = error instanceof Error ? (error.stack ?? error.message) : String(error)
    throw new Error(`${label}: property failed; replay with ${replay} bun run test\n${fc.defaultReportMessage(details)}\nGot: ${cause}`)
  }
  console.log(`fuzz: ${label}: ${details.numRuns} runs passed in ${ms} ms (seed ${details.seed})`)
  return { runs: details.numRuns, ms }
}
