/**
 * A TCP port free on `hostname` right now, chosen by the kernel. Used where several processes
 * must agree on one port before any binds it (workers on `PORT=0`), and by tests and the bench.
 */
export const freePort = (hostname = '127.0.0.1'): number => {
  const probe = Bun.serve({ port: 0, hostname, fetch: () => new Response() })
  const port = probe.port!
  probe.stop(true)
  return port
}
