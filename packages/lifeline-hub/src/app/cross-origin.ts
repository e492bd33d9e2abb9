/**
 * Refuses cross-origin writes from browsers (docs/security.md). A form on any web page can POST
 * `application/x-www-form-urlencoded` to the hub without a preflight; with auth off that publishes.
 * Browsers say where a request comes from: `Sec-Fetch-Site` (all current browsers) and `Origin` (on
 * every POST). A write passes when it is same-origin, or its `Origin` is allowed by `--cors-origin`
 * (then the preflight already let it through), or it carries neither header (not a browser: curl,
 * servers, SDKs). Applied with auth on too: harmless there (a form cannot send `Authorization`), and
 * one rule is simpler to reason about than two.
 */
import { HttpError, type Req } from '../shared/http-error.ts'

export type CrossOriginCheck = (req: Req) => void

/** Methods that change nothing: never checked. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])

export function createCrossOriginCheck(corsOrigins: readonly string[]): CrossOriginCheck {
  const allowed = new Set(corsOrigins.map((o) => o.replace(/\/$/, '')))
  const refuse = (from: string): never => {
    throw new HttpError(
      'cross_origin',
      `Cross-origin writes are refused (${from}): publish from the hub's own origin, or allow your page's origin with --cors-origin.`,
    )
  }
  return (req) => {
    if (SAFE_METHODS.has(req.method ?? 'GET')) return
    const origin = req.headers.origin
    if (typeof origin === 'string' && allowed.has(origin)) return
    const site = req.headers['sec-fetch-site']
    if (typeof site === 'string') {
      if (site === 'same-origin' || site === 'none') return
      refuse(`Sec-Fetch-Site: ${site.slice(0, 20)}`)
    }
    if (typeof origin !== 'string') return
    // No Sec-Fetch-Site (an older browser): same origin when Origin's host is the Host asked for.
    const host = req.headers.host ?? req.headers[':authority']
    let originHost: string | undefined
    try {
      originHost = new URL(origin).host
    } catch {}
    if (originHost === undefined || originHost !== host) refuse(`Origin: ${origin.slice(0, 100)}`)
  }
}
