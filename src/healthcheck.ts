import type { Config } from './config'

const HEALTHCHECK_TIMEOUT_MS = 3000

/** `users-api healthcheck`, for container health checks: no curl needed, just the binary. */
export const healthcheck = async (config: Pick<Config, 'host' | 'port'>) => {
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${config.port}/readyz`
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(HEALTHCHECK_TIMEOUT_MS) })
    process.exit(response.status === 200 ? 0 : 1)
  } catch {
    process.exit(1)
  }
}
