import { cpSync, mkdtempSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const ROOT = join(import.meta.dir, '..', '..')

/**
 * A copy of the project to edit while `bun run dev` runs in it (sources, migrations, settings),
 * sharing this checkout's node_modules. Returns its directory; remove it when done.
 */
export const copyProject = () => {
  const dir = mkdtempSync(join(tmpdir(), 'users-api-copy-'))
  for (const entry of ['src', 'migrations', 'package.json', 'tsconfig.json', 'bunfig.toml']) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true })
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  return dir
}
