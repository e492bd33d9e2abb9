/**
 * The hub's HTTP servers and their limits: plain node:http, or node:http2 over TLS with HTTP/1.1
 * fallback (ALPN). The same timeouts hold on every transport:
 *
 * - headers must arrive within `--request-timeout` (HTTP/1.1 plain and over TLS: Node's header timer;
 *   HTTP/2: a session that opens no stream is idle, below), and the TLS handshake too;
 * - a request body must end within `--request-timeout` (HTTP/1.1: Node's request timer, answered 408
 *   by answerClientError; HTTP/2: one timer per stream that has a body, answered 408 and reset);
 * - a connection with nothing in flight closes after `--keep-alive-timeout` (HTTP/1.1: Node's
 *   keep-alive timer; HTTP/2: a session with no open stream for that long is closed with GOAWAY);
 * - one HTTP/2 connection holds at most `--http2-max-streams` concurrent streams (advertised in
 *   SETTINGS; Node's default advertises 2^32-1), and the unfinished bodies of all its streams at most
 *   `--max-connection-body` bytes (publish-body.ts).
 */
import { readFileSync } from 'node:fs'
import { createServer, type Server, type ServerResponse } from 'node:http'
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
  constants as h2,
} from 'node:http2'
import type { Socket } from 'node:net'
import { HttpError, type HttpErrorCode, type Req, type Res, sendError } from '../shared/http-error.ts'
import type { ServeConfig } from './config-options.ts'

export type RequestListener = (req: Req, res: Res) => void

export type HttpTimeouts = Pick<ServeConfig, 'requestTimeout' | 'keepAliveTimeout'>

/** How often Node sweeps HTTP/1.1 connections for the header and request timers. */
function checkInterval(requestTimeoutMs: number): number {
  return requestTimeoutMs > 0 ? Math.max(100, Math.min(1_000, Math.floor(requestTimeoutMs / 4))) : 30_000
}

/** A plain node:http server with the request, header and keep-alive timers of `config`. */
export function createPlainServer(config: HttpTimeouts, onRequest: RequestListener): Server {
  const server = createServer(
    {
      requestTimeout: config.requestTimeout,
      headersTimeout: config.requestTimeout,
      keepAliveTimeout: config.keepAliveTimeout,
      connectionsCheckingInterval: checkInterval(config.requestTimeout),
    },
    onRequest,
  )
  server.on('clientError', answerClientError)
  return server
}

export interface TlsServer {
  readonly server: Http2SecureServer
  /** Open HTTP/2 sessions (closed on drain). */
  readonly sessions: ReadonlySet<Http2Session>
}

/** node:http2 over TLS with HTTP/1.1 fallback, under the same timers as the plain server. */
export function createTlsServer(
  config: HttpTimeouts & Pick<ServeConfig, 'tlsCert' | 'tlsKey' | 'http2MaxStreams'>,
  onRequest: RequestListener,
): TlsServer {
  const sessions = new Set<Http2Session>()
  const server = createSecureServer(
    {
      cert: readFileSync(config.tlsCert!),
      key: readFileSync(config.tlsKey!),
      allowHTTP1: true,
      // A client that connects and never finishes the handshake (Node's default waits 120 s).
      ...(config.requestTimeout > 0 ? { handshakeTimeout: config.requestTimeout } : {}),
      settings: { maxConcurrentStreams: config.http2MaxStreams },
    },
    (req: Req, res: Res) => {
      if ('stream' in req) armBodyDeadline(req, res as Http2ServerResponse, config.requestTimeout)
      onRequest(req, res)
    },
  )
  // HTTP/1.1 connections on this server run Node's HTTP/1.1 connection code, which reads these
  // fields (its defaults: 60 s headers, 300 s request, no keep-alive limit); set before listen().
  const fallback = server as unknown as {
    headersTimeout: number
    requestTimeout: number
    keepAliveTimeout: number
    connectionsCheckingInterval: number
  }
  fallback.headersTimeout = config.requestTimeout
  fallback.requestTimeout = config.requestTimeout
  fallback.keepAliveTimeout = config.keepAliveTimeout
  fallback.connectionsCheckingInterval = checkInterval(config.requestTimeout)
  server.on('clientError', answerClientError)
  server.on('tlsClientError', () => {})
  server.on('session', (session: Http2Session) => {
    sessions.add(session)
    session.once('close', () => sessions.delete(session))
    closeWhenIdle(session, config.keepAliveTimeout > 0 ? config.keepAliveTimeout : config.requestTimeout)
  })
  return { server, sessions }
}

/**
 * Closes (GOAWAY) an HTTP/2 session that has no open stream for `idleMs`: the keep-alive timeout of
 * HTTP/2. A session that never opens a stream (no preface, a header block trickled in CONTINUATION
 * frames) is idle from the start. One timer per idle session, none while a stream is open, so a
 * session carrying SSE streams is never cut for being quiet.
 */
function closeWhenIdle(session: Http2Session, idleMs: number): void {
  if (idleMs <= 0) return
  let open = 0
  let timer: NodeJS.Timeout | undefined = setTimeout(() => session.close(), idleMs).unref()
  session.on('stream', (stream) => {
    open++
    if (timer !== undefined) {
      clearTimeout(timer)
      timer = undefined
    }
    stream.once('close', () => {
      open--
      if (open === 0 && !session.closed && !session.destroyed)
        timer = setTimeout(() => session.close(), idleMs).unref()
    })
  })
  session.once('close', () => clearTimeout(timer))
}

/**
 * An HTTP/2 request whose body has not ended within `ms` gets a JSON 408 (when nothing was answered
 * yet) and its stream is reset: HTTP/1.1 gets the same from Node's request timer. Armed only for
 * streams that carry a body (no END_STREAM on the HEADERS frame), so an SSE stream has no timer.
 */
function armBodyDeadline(req: Http2ServerRequest, res: Http2ServerResponse, ms: number): void {
  const stream = req.stream
  if (ms <= 0 || stream.endAfterHeaders) return
  const timer = setTimeout(() => {
    if (stream.destroyed || stream.state.remoteClose) return
    if (!res.headersSent) {
      sendError(res, new HttpError('request_timeout', CLIENT_ERROR_ANSWERS['ERR_HTTP_REQUEST_TIMEOUT']![2]))
    }
    // Reset after the answer is flushed: the client stops sending and the body's bytes are freed.
    stream.close(h2.NGHTTP2_CANCEL)
  }, ms).unref()
  stream.once('close', () => clearTimeout(timer))
  req.once('end', () => clearTimeout(timer))
}

const CLIENT_ERROR_ANSWERS: Record<string, [number, HttpErrorCode, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [
    408,
    'request_timeout',
    'The request was not received in time (--request-timeout): send it whole, faster.',
  ],
  HPE_HEADER_OVERFLOW: [
    431,
    'headers_too_large',
    'The request headers are too large: send fewer or shorter headers (or fewer topics).',
  ],
}

/**
 * Requests Node's HTTP parser rejects (or times out) still get a JSON answer when the socket can take
 * one (docs/design.md §5). When a route already holds the response (a body that stopped arriving, a
 * malformed chunk), the answer goes through that response, so the route's own answer later is a no-op.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  const pending = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage
  if (err.code === 'ECONNRESET' || !socket.writable || pending?.headersSent) {
    socket.destroy()
    return
  }
  const [status, code, message] = CLIENT_ERROR_ANSWERS[err.code ?? ''] ?? [
    400,
    'bad_request',
    'The request is not valid HTTP: check the request line and headers.',
  ]
  if (pending) {
    sendError(pending, new HttpError(code, message, { connection: 'close' }, status))
    pending.once('finish', () => socket.destroySoon())
    return
  }
  const body = JSON.stringify({ error: code, message })
  const reason =
    status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  )
}

/** The client reset the stream or closed the connection: nobody is left to answer. */
export function clientGone(res: Res): boolean {
  if ('stream' in res) return res.stream.destroyed
  return res.destroyed || res.socket === null || res.socket.destroyed
}
