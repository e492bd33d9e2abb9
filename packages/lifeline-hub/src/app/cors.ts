/**
 * CORS allowlist with credentials (docs/design.md §5 `--cors-origin`). Exact origins only; a request from
 * any other origin gets no `Access-Control-Allow-Origin`, so the browser blocks it.
 */
import type { Req, Res } from '../shared/http-error.ts'

const ALLOW_METHODS = 'GET, HEAD, POST, PUT, DELETE, OPTIONS'
/** Lifeline's own request headers, then the Durable Streams endpoint's (docs/streams.md). */
const ALLOW_HEADERS = [
  'Authorization, Content-Type, Last-Event-ID, Cache-Control, If-None-Match',
  'Stream-TTL, Stream-Expires-At, Stream-Closed, Stream-Seq, Producer-Id, Producer-Epoch, Producer-Seq',
  'Stream-Forked-From, Stream-Fork-Offset, Stream-Fork-Sub-Offset',
].join(', ')
const EXPOSE_HEADERS = [
  'Retry-After, ETag, Location',
  'Stream-Next-Offset, Stream-Cursor, Stream-Up-To-Date, Stream-Closed, Stream-TTL, Stream-Expires-At',
  'Stream-SSE-Data-Encoding, Producer-Epoch, Producer-Seq, Producer-Expected-Seq, Producer-Received-Seq',
].join(', ')
const PREFLIGHT_MAX_AGE_S = '600'

export interface Cors {
  /** Adds the CORS headers for an allowed origin. Returns true when the request was a preflight (answered). */
  apply(req: Req, res: Res): boolean
}

export function createCors(origins: readonly string[]): Cors {
  const allowed = new Set(origins.map((o) => o.replace(/\/$/, '')))
  return {
    apply(req, res) {
      const origin = req.headers.origin
      const ok = typeof origin === 'string' && allowed.has(origin)
      if (allowed.size > 0) res.setHeader('vary', 'Origin')
      if (ok) {
        res.setHeader('access-control-allow-origin', origin)
        res.setHeader('access-control-allow-credentials', 'true')
        res.setHeader('access-control-expose-headers', EXPOSE_HEADERS)
      }
      if (req.method !== 'OPTIONS') return false
      if (ok) {
        res.setHeader('access-control-allow-methods', ALLOW_METHODS)
        res.setHeader('access-control-allow-headers', ALLOW_HEADERS)
        res.setHeader('access-control-max-age', PREFLIGHT_MAX_AGE_S)
      }
      res.statusCode = 204
      res.end()
      return true
    },
  }
}
