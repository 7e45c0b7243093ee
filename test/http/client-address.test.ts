import { describe, expect, test } from 'bun:test'
import { clientAddress } from '../../src/http/client-address'

const from = (address: string | null) => ({ requestIP: () => (address === null ? null : { address }) })
const request = (forwarded?: string) => new Request('http://localhost/', { headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } })

describe('clientAddress(trustedProxies)', () => {
  test('the socket address; an IPv4 client of a dual-stack socket without its ::ffff: prefix; an IPv6 client is its /64', () => {
    const of = clientAddress([])
    expect(of(request(), from('10.1.2.3'))).toBe('10.1.2.3')
    expect(of(request(), from('::ffff:10.1.2.3'))).toBe('10.1.2.3')
    expect(of(request(), from('::ffff:a0b:c0d'))).toBe('::/64')
    expect(of(request(), from('2001:db8::1'))).toBe('2001:db8::/64')
    expect(of(request(), from(null))).toBe('unknown')
  })

  test("X-Forwarded-For counts only from a trusted proxy: the right-most entry that is not one", () => {
    const of = clientAddress(['10.0.0.0/8', '::1'])
    expect(of(request('203.0.113.9'), from('192.0.2.1'))).toBe('192.0.2.1')
    expect(of(request('198.51.100.7, 203.0.113.9, 10.2.2.2'), from('::ffff:10.0.0.5'))).toBe('203.0.113.9')
    expect(of(request('not-an-address'), from('::1'))).toBe('::/64')
    expect(of(request(), from('10.0.0.5'))).toBe('10.0.0.5')
  })

  test('a port the proxy wrote is left out; an entry that is no address ends the search (what is left of it is the client’s)', () => {
    const of = clientAddress(['10.0.0.0/8'])
    expect(of(request('198.51.100.7, 203.0.113.9:51234'), from('10.0.0.5'))).toBe('203.0.113.9')
    expect(of(request('198.51.100.7, [2001:db8::7]:443'), from('10.0.0.5'))).toBe('2001:db8::/64')
    expect(of(request('198.51.100.7, [2001:db8::7]'), from('10.0.0.5'))).toBe('2001:db8::/64')
    expect(of(request('198.51.100.7, [::ffff:203.0.113.9]:80'), from('10.0.0.5'))).toBe('203.0.113.9')
    expect(of(request('2001:db8::8, 10.2.2.2:8080'), from('10.0.0.5'))).toBe('2001:db8::/64')
    // A client writing its own entries left of something unreadable is not believed.
    expect(of(request('198.51.100.7, unknown'), from('10.0.0.5'))).toBe('10.0.0.5')
    expect(of(request('198.51.100.7, 203.0.113.9:x:y'), from('10.0.0.5'))).toBe('10.0.0.5')
    expect(of(request('198.51.100.7, [2001:db8::7'), from('10.0.0.5'))).toBe('10.0.0.5')
  })

  test('every address of one IPv6 /64 is one client, written in its canonical form; the next /64 is another', () => {
    const of = clientAddress(['10.0.0.0/8'])
    const cases: [string, string][] = [
      ['2001:0DB8:0000:0001:aaaa:bbbb:cccc:dddd', '2001:db8:0:1::/64'],
      ['2001:db8:0:1::1', '2001:db8:0:1::/64'],
      ['2001:db8:0:2::1', '2001:db8:0:2::/64'],
      ['2001:db8:1::', '2001:db8:1::/64'],
      ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4::/64'],
      ['fe80::1%eth0', 'fe80::/64'],
      ['::1', '::/64'],
    ]
    for (const [address, client] of cases) {
      expect(of(request(), from(address))).toBe(client)
      expect(of(request(`198.51.100.7, [${address.split('%')[0]}]:443`), from('10.0.0.5'))).toBe(client)
    }
  })
})
