import { afterAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { availableCpus, cgroupCpuLimit, defaultWorkers } from '../src/runtime'

const roots = mkdtempSync(join(tmpdir(), 'users-api-cgroup-'))
afterAll(() => rmSync(roots, { recursive: true, force: true }))

let count = 0
/** A fake cgroup file system: `files` maps paths under the root to their contents. */
const cgroupRoot = (files: Record<string, string>) => {
  const root = join(roots, String(++count))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  mkdirSync(root, { recursive: true })
  return root
}

describe('CPUs available to the workers', () => {
  test('cgroup v2 without a quota ("max"): every core', () => {
    const root = cgroupRoot({ 'cpu.max': 'max 100000\n' })
    expect(cgroupCpuLimit(root)).toBeUndefined()
    expect(availableCpus(root, 8)).toBe(8)
  })

  test('cgroup v2 quota of 1.5 CPUs: 2', () => {
    const root = cgroupRoot({ 'cpu.max': '150000 100000\n' })
    expect(cgroupCpuLimit(root)).toBe(2)
    expect(availableCpus(root, 8)).toBe(2)
  })

  test('a quota above the cores: the cores', () => {
    expect(availableCpus(cgroupRoot({ 'cpu.max': '400000 100000\n' }), 2)).toBe(2)
  })

  test('cgroup v1 quota, in cpu/ or in a co-mounted cpu,cpuacct/; -1 means none', () => {
    const v1 = cgroupRoot({ 'cpu/cpu.cfs_quota_us': '200000\n', 'cpu/cpu.cfs_period_us': '100000\n' })
    expect(availableCpus(v1, 16)).toBe(2)
    const comounted = cgroupRoot({ 'cpu,cpuacct/cpu.cfs_quota_us': '50000\n', 'cpu,cpuacct/cpu.cfs_period_us': '100000\n' })
    expect(availableCpus(comounted, 16)).toBe(1)
    const unlimited = cgroupRoot({ 'cpu/cpu.cfs_quota_us': '-1\n', 'cpu/cpu.cfs_period_us': '100000\n' })
    expect(cgroupCpuLimit(unlimited)).toBeUndefined()
    expect(availableCpus(unlimited, 16)).toBe(16)
  })

  test('no cgroup files, or unreadable ones: every core', () => {
    expect(availableCpus(cgroupRoot({}), 4)).toBe(4)
    expect(availableCpus(join(roots, 'missing'), 4)).toBe(4)
    expect(availableCpus(cgroupRoot({ 'cpu.max': 'garbage\n' }), 4)).toBe(4)
    expect(availableCpus(cgroupRoot({ 'cpu.max': '0 100000\n' }), 4)).toBe(4)
  })

  test('never below one', () => {
    expect(availableCpus(cgroupRoot({ 'cpu.max': '1000 100000\n' }), 4)).toBe(1)
    expect(availableCpus(cgroupRoot({}), 0)).toBe(1)
  })

  test('run from source, an unset WORKERS means one process', () => {
    expect(defaultWorkers()).toBe(1)
  })
})
