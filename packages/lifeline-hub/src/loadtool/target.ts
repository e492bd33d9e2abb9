/**
 * Where the bench points: parses the stream URL and refuses anything but loopback unless the user
 * allows remote targets (a load generator must not be aimed at someone else's server by accident).
 */
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { LifelineError } from 'lifeline-sse/protocol'

export type Target = { url: URL; host: string; port: number; loopback: boolean }

export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.')
}

export async function resolveTarget(raw: string, allowRemote: boolean): Promise<Target> {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new LifelineError(
      'LIFELINE_ERR_BENCH_TARGET',
      `"${raw}" is not a URL: give e.g. http://127.0.0.1:8080/events`,
    )
  }
  if (url.protocol !== 'http:') {
    throw new LifelineError(
      'LIFELINE_ERR_BENCH_TARGET',
      `only http:// targets are supported, not ${url.protocol}`,
    )
  }
  const hostname = url.hostname.replace(/^\[|\]$/g, '')
  const addresses = isIP(hostname)
    ? [hostname]
    : (await lookup(hostname, { all: true })).map((a) => a.address)
  const loopback = addresses.length > 0 && addresses.every(isLoopback)
  if (!loopback && !allowRemote) {
    throw new LifelineError(
      'LIFELINE_ERR_BENCH_TARGET',
      `${url.host} is not a loopback address: pass --allow-remote to load a server you are responsible for`,
    )
  }
  const host = isIP(hostname) ? hostname : (addresses[0] as string)
  return { url, host, port: Number(url.port || 80), loopback }
}
