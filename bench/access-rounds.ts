/**
 * `bun run bench:rounds FILE…`: the rounds of several `--access` runs taken together. For each
 * call, each file's median of its per-round ratios (AUTH=on / AUTH=off), then the median over
 * every round of every file: a single run of 6–8 rounds passes or fails a goal at 0.9× by the
 * noise of its rounds, a few hundred rounds do not.
 */
import { median, type LoadResult } from './load'

interface AccessFile {
  machine: { cpu: string }
  access: { figures: Record<string, { secured: LoadResult[]; open: LoadResult[] }> }
}

const files = Bun.argv.slice(2)
if (files.length === 0) {
  console.error('usage: bun run bench:rounds bench/results/…-access.json …')
  process.exit(2)
}

const rounds = new Map<string, number[]>()
const fixed = (value: number) => value.toFixed(3)
for (const file of files) {
  const { machine, access } = (await Bun.file(file).json()) as AccessFile
  const line = [file.split('/').at(-1)!.replace('-access.json', ''), machine.cpu]
  for (const [call, { secured, open }] of Object.entries(access.figures)) {
    const ratios = secured.map((result, i) => result.rps / open[i]!.rps)
    rounds.set(call, [...(rounds.get(call) ?? []), ...ratios])
    line.push(`${call}: ${fixed(median(ratios))}× (${ratios.length})`)
  }
  console.log(line.join('  '))
}
for (const [call, ratios] of rounds) {
  const atGoal = ratios.filter((ratio) => ratio >= 0.9).length
  console.log(`${call}: ${ratios.length} rounds, median ${fixed(median(ratios))}×, ${atGoal} at 0.9× or more, from ${fixed(Math.min(...ratios))}× to ${fixed(Math.max(...ratios))}×`)
}
