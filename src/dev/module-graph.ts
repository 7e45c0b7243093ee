/**
 * Which of our loaded modules a save makes stale: the saved files and every module that imports
 * them, directly or not. The rest can stay loaded, unchanged and still what the stale ones import,
 * so a save to a module few others use reloads a handful of files rather than all of `src/`.
 */
import { existsSync } from 'node:fs'
import { dirname } from 'node:path'

const parser = new Bun.Transpiler({ loader: 'ts' })

/** `moduleGraph(ours)`: the imports among the loaded modules that `ours` accepts (by absolute path). */
export const moduleGraph = (ours: (path: string) => boolean) => {
  const importsOf = new Map<string, string[]>()
  const saved = new Set<string>()
  // A change the watcher did not name: every module is stale.
  let unnamed = false

  /** The files of ours that `path` imports (static or dynamic; type-only imports are erased). */
  const importsIn = async (path: string) => {
    if (!/\.[cm]?[jt]sx?$/.test(path) || !existsSync(path)) return []
    const source = (await Bun.file(path).text()).replace(/^#!.*/, '')
    return parser.scanImports(source).flatMap(({ path: specifier }) => {
      if (!specifier.startsWith('.')) return []
      try {
        const target = Bun.resolveSync(specifier, dirname(path))
        return ours(target) ? [target] : []
      } catch {
        return []
      }
    })
  }

  /** Reads the imports of the loaded modules not known yet, and again of the saved ones. */
  const index = async () => {
    for (const path of Object.keys(require.cache))
      if (ours(path) && (!importsOf.has(path) || saved.has(path))) importsOf.set(path, await importsIn(path).catch(() => []))
  }

  return {
    /** A save of `path`; undefined: a change whose file is not named. */
    saw(path: string | undefined) {
      if (path === undefined) unnamed = true
      else saved.add(path)
    },
    index,
    /** The modules stale since the last call (undefined: all of them), the saves then forgotten. */
    async takeStale(): Promise<Set<string> | undefined> {
      const all = unnamed
      if (!all) await index()
      const stale = new Set(saved)
      saved.clear()
      unnamed = false
      if (all) return undefined
      const importers = new Map<string, string[]>()
      for (const [path, targets] of importsOf)
        for (const target of targets) {
          const list = importers.get(target)
          if (list) list.push(path)
          else importers.set(target, [path])
        }
      // A set's iteration reaches what is added to it meanwhile: the importers' importers, and so on.
      for (const path of stale) for (const importer of importers.get(path) ?? []) stale.add(importer)
      return stale
    },
  }
}
