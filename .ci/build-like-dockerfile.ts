// Replays the Dockerfile's build stage without a Docker engine: a fresh directory receives only
// what its COPY lines name, its RUN lines run there, and the binary they produce is copied to
// dist/users-api for the binary tests. A file the build needs but the Dockerfile forgets to copy
// fails here as it would in `docker build`.
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = join(import.meta.dir, '..')
const lines = (await Bun.file(join(root, 'Dockerfile')).text()).split('\n').map((line) => line.trim())
const start = lines.findIndex((line) => /^FROM \S+ AS build$/i.test(line))
const end = lines.findIndex((line, index) => index > start && line.startsWith('FROM '))
if (start === -1 || end === -1) throw new Error('Dockerfile: no build stage followed by a runtime stage')

const context = mkdtempSync(join(tmpdir(), 'users-api-docker-build-'))
try {
  for (const line of lines.slice(start + 1, end)) {
    const [instruction, ...words] = line.split(/\s+/)
    if (instruction === 'COPY') {
      const paths = words.filter((word) => !word.startsWith('--'))
      const destination = join(context, paths.pop()!)
      for (const source of paths) {
        const target = paths.length > 1 || destination.endsWith('/') ? join(destination, source) : destination
        cpSync(join(root, source), target, { recursive: true })
      }
    } else if (instruction === 'RUN') {
      const command = words.join(' ')
      console.log(`docker build (replayed): RUN ${command}`)
      const run = Bun.spawnSync(['sh', '-c', command], { cwd: context, stdout: 'inherit', stderr: 'inherit' })
      if (run.exitCode !== 0) throw new Error(`RUN ${command}: exit ${run.exitCode}`)
    }
  }
  mkdirSync(join(root, 'dist'), { recursive: true })
  cpSync(join(context, 'dist/users-api'), join(root, 'dist/users-api'))
} finally {
  rmSync(context, { recursive: true, force: true })
}
