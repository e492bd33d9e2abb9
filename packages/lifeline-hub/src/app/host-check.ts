/**
 * The `Host` allowlist (DNS rebinding; docs/security.md). A page on `evil.example` whose name the
 * attacker re-points at 127.0.0.1 (or a LAN address) is same-origin with the hub in the browser's eyes
 * and could read `/api/connections` or publish; but its requests carry `Host: evil.example`. Refusing
 * names the hub does not answer to closes that door, as dev servers do since their rebinding advisories.
 *
 * Allowed by default: an IP literal (a rebinding needs a name the attacker controls, so a request for
 * `127.0.0.1:8080` or `[::1]` is the address itself), `localhost` and `*.localhost` (RFC 6761: always
 * loopback), and the name given as `--host`. `--allowed-hosts` adds names: exact (`events.example.com`),
 * a leading dot for a domain and its subdomains (`.example.com`), or `*` for every name (turns the
 * check off: for a hub behind a proxy that already checks `Host`). A request without `Host` (HTTP/1.0,
 * not a browser) passes.
 */
import { isIP } from 'node:net'
import { HttpError, type Req } from '../shared/http-error.ts'

export type HostCheck = (req: Req) => void

/** The name of a `Host` / `:authority` value, lower case, without port, brackets or trailing dot. */
export function hostName(value: string): string {
  let name = value.trim().toLowerCase()
  if (name.startsWith('[')) {
    const end = name.indexOf(']')
    return end > 0 ? name.slice(1, end) : name
  }
  const colon = name.lastIndexOf(':')
  if (colon >= 0 && name.indexOf(':') === colon) name = name.slice(0, colon)
  return name.endsWith('.') ? name.slice(0, -1) : name
}

export function createHostCheck(boundHost: string, allowedHosts: readonly string[]): HostCheck {
  const exact = new Set<string>(['localhost'])
  const suffixes: string[] = ['.localhost']
  let any = false
  for (const entry of [boundHost, ...allowedHosts]) {
    const name = hostName(entry)
    if (name === '*') any = true
    else if (name.startsWith('.')) {
      suffixes.push(name)
      exact.add(name.slice(1))
    } else if (name !== '') exact.add(name)
  }
  if (any) return () => {}
  return (req) => {
    const raw = req.headers.host ?? req.headers[':authority']
    if (typeof raw !== 'string') return
    const name = hostName(raw)
    if (isIP(name) !== 0 || exact.has(name)) return
    for (const suffix of suffixes) if (name.endsWith(suffix)) return
    throw new HttpError(
      'host_not_allowed',
      `The hub does not answer to the name ${JSON.stringify(name.slice(0, 100))}: add it with --allowed-hosts (this guards against DNS rebinding).`,
    )
  }
}
