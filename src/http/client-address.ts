/**
 * The client's address: the socket's, or, when the socket is a proxy listed in `trustedProxies`,
 * the address that proxy appended to `X-Forwarded-For` (the right-most entry not itself a trusted
 * proxy). A client's own `X-Forwarded-For` is never believed otherwise.
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

/** `clientAddress(trustedProxies)`: a function of the request and the server giving the client's address. */
export const clientAddress = (trustedProxies: string[]) => {
  const trusted = blockListOf(trustedProxies)
  const isTrusted = (address: string) => isIP(address) !== 0 && trusted.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')
  return (request: Request, server: Server): string => {
    const socket = plain(server?.requestIP(request)?.address ?? 'unknown')
    if (trustedProxies.length === 0 || !isTrusted(socket)) return socket
    const forwarded = (request.headers.get('x-forwarded-for') ?? '').split(',').map((entry) => plain(entry.trim())).filter(Boolean)
    for (let i = forwarded.length - 1; i >= 0; i--) if (isIP(forwarded[i]!) !== 0 && !isTrusted(forwarded[i]!)) return forwarded[i]!
    return socket
  }
}

export type ClientAddress = ReturnType<typeof clientAddress>
