/**
 * Every HTTP error the hub answers: JSON `{"error": code, "message": sentence}`. The codes are stable
 * and listed in docs/errors.md (test/hub/errors-doc.test.ts keeps that list complete).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'

export type Req = IncomingMessage | Http2ServerRequest
export type Res = ServerResponse | Http2ServerResponse

export const HTTP_ERROR_CODES = {
  bad_request: 400,
  bad_topic: 400,
  reserved_topic: 400,
  too_many_topics: 400,
  bad_json: 400,
  bad_data: 400,
  bad_event: 400,
  bad_query: 400,
  unauthorized: 401,
  forbidden: 403,
  host_not_allowed: 403,
  cross_origin: 403,
  stale_epoch: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  conflict: 409,
  gone: 410,
  body_too_large: 413,
  unsupported_media_type: 415,
  headers_too_large: 431,
  internal_error: 500,
  stream_limit: 507,
  backend_unavailable: 503,
  not_ready: 503,
} as const

export type HttpErrorCode = keyof typeof HTTP_ERROR_CODES

/** Thrown inside route handlers; the app turns it into the JSON answer. */
export class HttpError extends Error {
  readonly code: HttpErrorCode
  readonly status: number
  readonly headers: Record<string, string>

  constructor(code: HttpErrorCode, message: string, headers: Record<string, string> = {}, status?: number) {
    super(message)
    this.name = 'HttpError'
    this.code = code
    this.status = status ?? HTTP_ERROR_CODES[code]
    this.headers = headers
  }
}

export function sendJson(
  res: Res,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body)
  if (res.headersSent) {
    res.end()
    return
  }
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value)
  res.setHeader('content-type', 'application/json; charset=utf-8')
  res.setHeader('cache-control', 'no-store')
  res.setHeader('content-length', Buffer.byteLength(text))
  res.statusCode = status
  res.end(text)
}

export function sendError(res: Res, err: HttpError): void {
  sendJson(res, err.status, { error: err.code, message: err.message }, err.headers)
}

/** A library message (`lowercase, no stop`) as the sentence of an HTTP error message. */
export function sentence(message: string): string {
  return message.length > 0 ? `${message[0]!.toUpperCase()}${message.slice(1)}.` : message
}
