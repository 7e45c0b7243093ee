/**
 * The speed goals `bun run bench` checks, each with its figure from this run and ✓ or ✗. The
 * start-up, access and scale parts judge their own goals, in their own tables.
 */
import { median } from './load'
import type { Table } from './report'

/** The scenario whose page of 100 users the timestamp goal is about. */
export const PAGE_SCENARIO = 'GET /users?limit=100'
/** The scenario of the `GET /` goal. */
const ROOT_SCENARIO = 'GET /'
/** The scenarios the goals judge against the bare server: a second, identical one runs beside it there. */
export const GOAL_SCENARIOS = [PAGE_SCENARIO, ROOT_SCENARIO]
/** The cost-table row the rate-limit goal reads. */
export const RATE_LIMIT_VARIANT = 'RATE_LIMIT on (in memory)'

interface Figures {
  rps: number
  peakRssWorkerMb: number
}

type Rows = Record<string, { service: Figures; baseline: Figures; untimed?: Figures; again?: Figures }>

/** A goal's row: its figure from this run (a ratio) and ✓ or ✗. */
export const judged = (goal: string, value: number | undefined, atLeast: number | undefined, atMost?: number) => {
  if (value === undefined || !Number.isFinite(value)) return [goal, 'not measured', '–']
  const holds = (atLeast === undefined || value >= atLeast) && (atMost === undefined || value <= atMost)
  // Three decimals, cut toward the goal's wrong side: 0.8996 of an "at least 0.9" reads 0.899.
  const shown = atLeast !== undefined ? Math.floor(value * 1000) / 1000 : Math.ceil(value * 1000) / 1000
  return [goal, `${shown.toFixed(3)}×`, holds ? '✓' : '✗']
}

/** The goals table, from one worker's rows and what the settings cost. */
export const goalsTable = (rows: Rows | undefined, costs: Record<string, { on: number[]; off: number[]; offAgain?: number[] }> | undefined): Table => {
  const page = rows?.[PAGE_SCENARIO]
  const root = rows?.[ROOT_SCENARIO]
  const all = Object.values(rows ?? {})
  const peak = (side: 'service' | 'baseline') => Math.max(...all.map((row) => row[side].peakRssWorkerMb))
  const rateLimit = costs?.[RATE_LIMIT_VARIANT]
  return {
    title: 'Goals (1 worker, PostgreSQL): req/s over all alternating rounds; a setting\'s cost from the medians of its rounds',
    header: ['goal', 'this run', 'holds'],
    rows: [
      judged('a page of 100 with timestamps ≥ 0.8× the bare page without them', page?.untimed && page.service.rps / page.untimed.rps, 0.8),
      judged('`GET /` ≥ 0.9× the bare server', root && root.service.rps / root.baseline.rps, 0.9),
      judged('peak RSS of one serving process ≤ 1.2× the bare server’s', all.length ? peak('service') / peak('baseline') : undefined, undefined, 1.2),
      judged('`RATE_LIMIT` on ≥ 0.9× off on `GET /users/{id}`', rateLimit && median(rateLimit.on) / median(rateLimit.off), 0.9),
    ],
    notes: [
      ...(page?.again && root?.again
        ? [`Noise: two identical bare servers differed by ${(page.again.rps / page.baseline.rps).toFixed(3)}× on the page and ${(root.again.rps / root.baseline.rps).toFixed(3)}× on \`GET /\` in the same rounds.`]
        : []),
      ...(rateLimit?.offAgain?.length
        ? [`Noise of the \`RATE_LIMIT\` figure: two identical services differed by ${(median(rateLimit.offAgain) / median(rateLimit.off)).toFixed(3)}× in the same rounds.`]
        : []),
      'Start-up and reload, access control (against `AUTH=off` and the bare server) and name search at 1,000,000 users have goal tables of their own, in their parts (unless left out).',
    ],
  }
}
