/** Reading Prometheus's text format, and checking it with Prometheus's own `promtool`. */

/** The value of the sample `name{labels}` (labels matched exactly, in any order); undefined if absent. */
export const sampleValue = (text: string, name: string, labels: Record<string, string> = {}): number | undefined => {
  const wanted = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .sort()
    .join(',')
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match || match[1] !== name) continue
    const found = (match[2] ?? '').match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g) ?? []
    if (found.sort().join(',') === wanted) return Number(match[3])
  }
  return undefined
}

/** Every label set `name` has samples for, each as `key=value` pairs joined by commas. */
export const labelSets = (text: string, name: string): string[] =>
  text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`))
    .map((line) => line.slice(name.length + 1, line.lastIndexOf('}')))

/** `promtool check metrics` on `text`: its exit code and what it printed. */
export const promtoolCheck = async (text: string) => {
  const child = Bun.spawn(['promtool', 'check', 'metrics'], { stdin: new Blob([text]), stdout: 'pipe', stderr: 'pipe' })
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  return { code, output: stdout + stderr }
}
