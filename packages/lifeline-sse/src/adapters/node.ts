import { type IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import type { Socket } from 'node:net'
import type { Hub, SinkListener, StreamHandle, StreamSink, TransportTuning } from '../server/types.ts'
import { type AdapterOptions, openOrAnswer, parseRequestUrl, subscribeOptions } from './open-stream.ts'
import { tuneSocket } from './socket-tuning.ts'

type NodeRequest = IncomingMessage | Http2ServerRequest

const CR = 0x0d
const LF = 0x0a
/**
 * HTTP/1.1 chunks (RFC 9112 §7.1: `<size in hex> CRLF <bytes> CRLF`) by the bytes they carry. The hub
 * hands every stream the same bytes object for the same event (or the same joined events), so the
 * framing is made once per event for all HTTP/1.1 streams, not once per stream as `res.write` does.
 */
const chunks = new WeakMap<Uint8Array, Buffer>()

function chunkOf(bytes: Uint8Array): Buffer {
  let chunk = chunks.get(bytes)
  if (chunk === undefined) {
    const size = bytes.byteLength.toString(16)
    chunk = Buffer.allocUnsafe(size.length + bytes.byteLength + 4)
    let at = chunk.write(size, 0, 'latin1')
    chunk[at++] = CR
    chunk[at++] = LF
    chunk.set(bytes, at)
    at += bytes.byteLength
    chunk[at++] = CR
    chunk[at] = LF
    chunks.set(bytes, chunk)
  }
  return chunk
}

/** node:http internals read to decide whether a response's socket may be written directly. */
interface ResponseInternals {
  readonly chunkedEncoding?: boolean
  readonly outputData?: readonly unknown[]
  readonly writableCorked?: number
}
type NodeResponse = ServerResponse | Http2ServerResponse

/** The `ServerResponse` surface both HTTP/1 and the HTTP/2 compat response offer. */
interface Writable {
  write(chunk: Uint8Array): boolean
  end(): unknown
  destroy(): unknown
  on(event: string, fn: (...args: unknown[]) => void): unknown
  once(event: string, fn: (...args: unknown[]) => void): unknown
  cork?(): void
  uncork?(): void
  readonly writableLength?: number
  readonly writableFinished?: boolean
}

/**
 * A stream over a node:http `ServerResponse` (Express passes the same objects) or a node:http2 compat
 * `Http2ServerResponse`. One write (one syscall) per connection per flush.
 *
 * HTTP/1.1: once the head and the first bytes went out through the response, events are written to
 * the socket directly, as chunks framed once per event (`chunkOf`). `res.write` would frame each one
 * again for each stream and send it as four corked writes released in a nextTick per response; the
 * direct write is one `socket.write` of a shared buffer (bench/turns.bench.ts flood-1k). The response still
 * ends the stream (`res.end()` writes the final chunk after ours) and counts the socket's buffer in
 * `writableLength`. HTTP/1.0 (no chunking), HTTP/2, a response that does not own its socket yet
 * (a pipelined request) and one whose `write` a middleware wrapped (compression) keep `res.write`.
 */
export class NodeSink implements StreamSink {
  #req: NodeRequest
  #res: NodeResponse
  #out: Writable
  #error: Error | undefined
  /** The socket events are written to directly, once allowed (see the class comment). */
  #socket: Socket | null = null
  #checked = false
  #listener: SinkListener | undefined
  #onSocketDrain = (): void => this.#listener?.drained()

  constructor(req: NodeRequest, res: NodeResponse) {
    this.#req = req
    this.#res = res
    this.#out = res as unknown as Writable
  }

  get #http1(): boolean {
    return this.#req.httpVersionMajor === 1
  }

  open(headers: ReadonlyArray<readonly [string, string]>, transport: TransportTuning): void {
    const h: Record<string, string> = {}
    for (const [name, value] of headers) h[name] = value
    // Connection-specific headers are forbidden in HTTP/2 (RFC 9113 §8.2.2); HTTP/1.0 has no keep-alive streams.
    if (this.#http1 && this.#req.httpVersionMinor === 1) h['Connection'] = 'keep-alive'
    const res = this.#res as ServerResponse
    res.writeHead(200, h)
    if (this.#http1) {
      const socket = (this.#req as IncomingMessage).socket as Socket
      // The request is complete (a GET); no timer may end a long stream.
      ;(this.#req as IncomingMessage).setTimeout(0)
      tuneSocket(socket, transport)
      socket.once('error', (error: Error) => {
        this.#error = error
      })
    }
    // No flushHeaders(): the hub writes the first bytes right after this, and they leave together.
  }

  attach(listener: SinkListener): void {
    this.#listener = listener
    this.#out.on('drain', () => listener.drained())
    this.#out.once('close', () => {
      // A keep-alive socket outlives this response: leave it as we found it.
      this.#socket?.off('drain', this.#onSocketDrain)
      this.#socket = null
      listener.closed(this.#error)
    })
    // The client may have left between the request and now: 'close' already fired and will not again.
    if ((this.#out as { destroyed?: boolean }).destroyed === true)
      queueMicrotask(() => listener.closed(this.#error))
  }

  write(chunk: Uint8Array): boolean {
    const socket = this.#socket
    if (socket !== null) {
      // A zero-size chunk would end the response: there is nothing to send.
      if (chunk.byteLength === 0) return socket.writableLength < socket.writableHighWaterMark
      return socket.write(chunkOf(chunk))
    }
    const ok = this.#out.write(chunk)
    if (!this.#checked) this.#goDirect()
    return ok
  }

  /** After the first write (head and first bytes sent): write to the socket from now on, if allowed. */
  #goDirect(): void {
    this.#checked = true
    if (!this.#http1 || this.#req.httpVersionMinor !== 1) return
    const res = this.#res as ServerResponse & ResponseInternals
    const socket = res.socket as (Socket & { _httpMessage?: unknown }) | null
    if (
      socket === null ||
      socket._httpMessage !== res ||
      // A middleware that wraps `res.write` (compression, a logger) must see every byte.
      res.write !== ServerResponse.prototype.write ||
      res.chunkedEncoding !== true ||
      res.outputData?.length !== 0 ||
      (res.writableCorked ?? 0) !== 0 ||
      res.writableEnded
    ) {
      return
    }
    this.#socket = socket
    socket.on('drain', this.#onSocketDrain)
  }

  bufferedBytes(): number {
    return this.#out.writableLength ?? 0
  }

  end(done: () => void): void {
    // `res.end()` writes the final chunk through the same socket, after every chunk written directly.
    this.#socket?.off('drain', this.#onSocketDrain)
    this.#socket = null
    let called = false
    const once = (): void => {
      if (called) return
      called = true
      done()
    }
    this.#out.once('finish', once)
    this.#out.once('close', once)
    this.#out.end()
  }

  destroy(): void {
    this.#out.destroy()
  }
}

function remoteOf(req: NodeRequest): string | undefined {
  const socket = req.socket as Socket | undefined
  return socket?.remoteAddress
}

function headerOf(req: NodeRequest, name: string): string | undefined {
  const value = req.headers[name]
  return Array.isArray(value) ? value[0] : value
}

/**
 * Turns a node:http / Express / node:http2-compat request into a stream on `hub`. Answers refusals
 * itself (400 bad topic, 429/503 limits and draining, JSON with Retry-After) and returns undefined
 * then; otherwise returns the open stream (its `signal` fires when it closes).
 */
export function handleNode(
  hub: Hub,
  req: NodeRequest,
  res: NodeResponse,
  options?: AdapterOptions,
): StreamHandle | undefined {
  const sub = subscribeOptions(
    {
      url: parseRequestUrl(req.url),
      lastEventIdHeader: headerOf(req, 'last-event-id'),
      userAgent: headerOf(req, 'user-agent'),
      remoteAddress: remoteOf(req),
    },
    options,
  )
  const opened = openOrAnswer(hub, new NodeSink(req, res), sub, options)
  if ('stream' in opened) return opened.stream
  const answer = opened.answer
  ;(res as ServerResponse).writeHead(answer.status, answer.headers)
  res.end(answer.body)
  return undefined
}
