/**
 * Client address behind reverse proxies (docs/design.md §3 `--trust-proxy`). Exactly one forwarding header
 * is read, the one `--trust-proxy-header` names (`X-Forwarded-For` by default, or `Forwarded`): a proxy
 * appends to the header it knows and passes the other through untouched, so reading both (or
 * preferring one when present) would let a client's own `Forwarded` override the proxy's `X-Forwarded-For`.
 * The header is believed only when the hop that sent it is a configured proxy; we walk the chain from
 * the nearest hop outward and stop at the first address that is not a trusted proxy, so a client
 * cannot spoof its address by sending the header itself.
 */
import { BlockList, isIP } from 'node:net'
import type { Req } from '../shared/http-error.ts'
import { ConfigError } from './config-resolve.ts'

export type ClientAddressResolver = (req: Req) => string

const LOOPBACK: readonly string[] = ['127.0.0.0/8', '::1/128']

/** Strips `::ffff:` from IPv4-mapped IPv6 so one client has one spelling. */
export function normalizeAddress(address: string): string {
  if (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4) return address.slice(7)
  return address
}

export function buildTrustList(entries: readonly string[]): BlockList {
  const list = new BlockList()
  for (const raw of entries.flatMap((e) => (e === 'loopback' ? LOOPBACK : [e]))) {
    const slash = raw.indexOf('/')
    const address = slash < 0 ? raw : raw.slice(0, slash)
    const family = isIP(address)
    if (family === 0)
      throw new ConfigError(
        `invalid setting --trust-proxy: "${raw}" is not an IP address, CIDR or "loopback"`,
      )
    const type = family === 4 ? 'ipv4' : 'ipv6'
    if (slash < 0) {
      list.addAddress(address, type)
      continue
    }
    const prefix = Number(raw.slice(slash + 1))
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
      throw new ConfigError(`invalid setting --trust-proxy: "${raw}" has a bad prefix length`)
    }
    list.addSubnet(address, prefix, type)
  }
  return list
}

function trusted(list: BlockList, address: string): boolean {
  const family = isIP(address)
  if (family === 0) return false
  return list.check(address, family === 4 ? 'ipv4' : 'ipv6')
}

/** `for=` values of a Forwarded header, nearest hop last: `for=1.2.3.4`, `for="[2001:db8::1]:443"`. */
function forwardedFor(header: string): string[] {
  const out: string[] = []
  for (const element of header.split(',')) {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=')
      if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue
      out.push(
        stripPort(
          pair
            .slice(eq + 1)
            .trim()
            .replace(/^"|"$/g, ''),
        ),
      )
    }
  }
  return out
}

function stripPort(value: string): string {
  if (value.startsWith('[')) {
    const end = value.indexOf(']')
    return end > 0 ? value.slice(1, end) : value
  }
  // IPv4 with a port ("1.2.3.4:5678"); a bare IPv6 has more than one colon.
  const colon = value.indexOf(':')
  if (colon > 0 && value.indexOf(':', colon + 1) < 0) return value.slice(0, colon)
  return value
}

export function createClientAddressResolver(
  trustProxy: readonly string[],
  header: string = 'x-forwarded-for',
): ClientAddressResolver {
  const socketAddress = (req: Req): string => normalizeAddress(req.socket?.remoteAddress ?? 'unknown')
  if (trustProxy.length === 0) return socketAddress
  const list = buildTrustList(trustProxy)
  const name = header.toLowerCase()
  return (req) => {
    let address = socketAddress(req)
    if (!trusted(list, address)) return address
    const value = req.headers[name]
    const hops =
      typeof value !== 'string'
        ? []
        : name === 'forwarded'
          ? forwardedFor(value)
          : value.split(',').map((s) => stripPort(s.trim()))
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalizeAddress(hops[i] ?? '')
      if (isIP(hop) === 0) break
      address = hop
      if (!trusted(list, hop)) break
    }
    return address
  }
}
