import type { ServerResponse } from 'node:http'
import type { Res } from '../../shared/http-error.ts'

/** Status, headers and an optional body in one go (HTTP/1 and the HTTP/2 compat response alike). */
export function respond(
  res: Res,
  status: number,
  headers: Record<string, string>,
  body?: string | Buffer,
): void {
  const r = res as ServerResponse
  // A known length (0 without a body): one write, no chunked encoding and its terminating chunk.
  if (!('content-length' in headers) && status !== 204 && status !== 304) {
    headers['content-length'] = String(body === undefined ? 0 : Buffer.byteLength(body))
  }
  r.writeHead(status, headers)
  r.end(body)
}

/** The response as a writable for streaming (SSE). */
export function writable(res: Res): ServerResponse {
  return res as ServerResponse
}
