/** The benchmark's tables: Markdown for the terminal and the README, JSON next to it. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

type Cell = string | number
export interface Table {
  title: string
  header: string[]
  rows: Cell[][]
  notes?: string[]
}

const formatCell = (cell: Cell) => (typeof cell === 'number' ? (Number.isInteger(cell) ? String(cell) : cell.toFixed(2)) : cell)

export const markdownTable = (table: Table) => {
  const lines = [`### ${table.title}`, '', `| ${table.header.join(' | ')} |`, `|${table.header.map(() => '---').join('|')}|`]
  for (const row of table.rows) lines.push(`| ${row.map(formatCell).join(' | ')} |`)
  if (table.notes?.length) lines.push('', ...table.notes)
  return lines.join('\n')
}

/** "1.23×", or "–" without a baseline figure. */
export const ratio = (service: number, baseline: number | undefined) =>
  baseline === undefined || baseline === 0 ? '–' : `${(service / baseline).toFixed(2)}×`

/** Writes `<stamp>-<kind>.json` and `.md` under bench/results and returns their paths. */
export const writeResults = (kind: string, preamble: string[], tables: Table[], data: unknown) => {
  const directory = join(import.meta.dir, 'results')
  mkdirSync(directory, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)
  const base = join(directory, `${stamp}-${kind}`)
  writeFileSync(`${base}.json`, `${JSON.stringify(data, null, 2)}\n`)
  writeFileSync(`${base}.md`, `${[...preamble, '', ...tables.map(markdownTable)].join('\n\n')}\n`)
  return [`${base}.json`, `${base}.md`]
}
