/**
 * The client, as the rate limit and the login throttling count it: the socket's address, or, when
 * the socket is a proxy listed in `trustedProxies`, the address that proxy appended to
 * `X-Forwarded-For` (the right-most entry not itself a trusted proxy, its port left out; an entry
 * that is no address stops the search there, as everything left of it is the client's to write).
 * A client's own `X-Forwarded-For` is never believed otherwise. An IPv6 client is its /64.
 */
import { BlockList, isIP } from 'node:net'

type Server = { requestIP(request: Request): { address: string } | null } | null | undefined

const blockListOf = (entries: string[]) => {
  const list = new BlockList()
  for (const entry of entries) {
    const [address, prefix] = entry.split('/') as [string, string | undefined]
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4'
    if (prefix === undefined) list.addAddress(address, type)
    else list.addSubnet(address, Number(prefix), type)
  }
  return list
}

// An IPv4 client of a dual-stack socket is `::ffff:a.b.c.d`; tested before any regex runs (per request).
const plain = (address: string) => (address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address)

// Some proxies write the client's port too: `a.b.c.d:port`, `[v6]:port` (or `[v6]`).
const withoutPort = (entry: string) => {
  if (entry.startsWith('[')) {
    const end = entry.indexOf(']')
    return end === -1 ? entry : entry.slice(1, end)
  }
  const colon = entry.indexOf(':')
  return colon !== -1 && colon === entry.lastIndexOf(':') ? entry.slice(0, colon) : entry
}

// One subscriber gets a whole /64 (or more) and picks any address in it at will: counted per
// address, an IPv6 client would have 2^64 budgets. Only valid addresses get here (see below).
const networkOf = (address: string) => {
  const [head = '', tail] = address.split('%')[0]!.split('::')
  const groups = (part: string | undefined) => (part ? part.split(':') : [])
  // An IPv4 tail (`::1.2.3.4`) is two groups; it lies in the last 64 bits whatever its width.
  const width = (parts: string[]) => parts.reduce((sum, part) => sum + (part.includes('.') ? 2 : 1), 0)
  const [left, right] = [groups(head), groups(tail)]
  const all = tail === undefined ? left : [...left, ...Array<string>(8 - width(left) - width(right)).fill('0'), ...right]
  // The URL parser writes the prefix in its canonical form: lower case, no leading zeros, `::`.
  return `${new URL(`http://[${all.slice(0, 4).join(':')}::]`).hostname.slice(1, -1)}/64`
}

/** `clientAddress(trustedProxies)`: a function of the request and the server giving the client's address. */
export const clientAddress = (trustedProxies: string[]) => {
  const trusted = blockListOf(trustedProxies)
  const isTrusted = (address: string) => isIP(address) !== 0 && trusted.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')
  const addressOf = (request: Request, server: Server): string => {
    const socket = plain(server?.requestIP(request)?.address ?? 'unknown')
    if (trustedProxies.length === 0 || !isTrusted(socket)) return socket
    const forwarded = (request.headers.get('x-forwarded-for') ?? '').split(',').map((entry) => plain(withoutPort(entry.trim()))).filter(Boolean)
    for (let i = forwarded.length - 1; i >= 0; i--) {
      const entry = forwarded[i]!
      // What a trusted proxy wrote but is no address ends the walk: the entries left of it are the client's own.
      if (isIP(entry) === 0) return socket
      if (!isTrusted(entry)) return entry
    }
    return socket
  }
  return (request: Request, server: Server): string => {
    const address = addressOf(request, server)
    return address.includes(':') ? networkOf(address) : address
  }
}

export type ClientAddress = ReturnType<typeof clientAddress>
