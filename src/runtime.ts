/**
 * What this process runs as and on: the compiled binary or source, and how many CPUs it may use.
 * Both the settings (the default `WORKERS`) and the worker supervisor need this, so it lives apart
 * from either.
 */
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'

/** A compiled binary runs its code from Bun's embedded file system. */
/** Whether a process `pid` is alive (one of another user's, which cannot be signalled, counts). */
export const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export const runningCompiled = () => Bun.main.startsWith('/$bunfs/')

const readText = (path: string) => {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    return undefined
  }
}

/** Whole CPUs a quota of `quota` µs per `period` µs amounts to; undefined for no or a nonsense quota. */
const quotaCpus = (quota: number, period: number) =>
  Number.isFinite(quota) && Number.isFinite(period) && quota > 0 && period > 0 ? Math.ceil(quota / period) : undefined

/**
 * The CPU limit set on this process's control group, in whole CPUs (1.5 CPUs: 2), or undefined
 * when there is none. Inside a container `cgroupRoot` is the container's own group: this is the
 * `--cpus` of `docker run` or a Kubernetes CPU limit, which the core count does not show.
 */
export const cgroupCpuLimit = (cgroupRoot = '/sys/fs/cgroup'): number | undefined => {
  // cgroup v2: "<quota> <period>", quota "max" for none.
  const v2 = readText(join(cgroupRoot, 'cpu.max'))
  if (v2 !== undefined) {
    const [quota, period] = v2.split(/\s+/)
    return quota === 'max' ? undefined : quotaCpus(Number(quota), Number(period))
  }
  // cgroup v1: the cpu controller's own directory (named "cpu,cpuacct" where it is co-mounted), quota -1 for none.
  for (const controller of ['cpu', 'cpu,cpuacct']) {
    const quota = readText(join(cgroupRoot, controller, 'cpu.cfs_quota_us'))
    const period = readText(join(cgroupRoot, controller, 'cpu.cfs_period_us'))
    if (quota !== undefined && period !== undefined) return quotaCpus(Number(quota), Number(period))
  }
  return undefined
}

/** The CPUs this process can actually keep busy: the cores it may run on, capped by its cgroup's quota. */
export const availableCpus = (cgroupRoot?: string, cores = availableParallelism()) =>
  Math.max(1, Math.min(cores, cgroupCpuLimit(cgroupRoot) ?? cores))

/**
 * What an unset `WORKERS` means on a database server: one per available CPU for the compiled
 * binary (and so the container), one when run from source (`bun run dev`, `bun start`), where a
 * single process is easier to debug and reload.
 */
export const defaultWorkers = () => (runningCompiled() ? availableCpus() : 1)
