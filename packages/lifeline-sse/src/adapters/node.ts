import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import type { Socket } from 'node:net'
import type { Hub, SinkListener, StreamHandle, StreamSink, TransportTuning } from '../server/types.ts'
import { type AdapterOptions, openOrAnswer, parseRequestUrl, subscribeOptions } from './open-stream.ts'
import { tuneSocket } from './socket.ts'

type NodeRequest = IncomingMessage | Http2ServerRequest
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
 * `Http2ServerResponse`. Several chunks go out joined: one write (one syscall) per connection per turn.
 */
export class NodeSink implements StreamSink {
  #req: NodeRequest
  #res: NodeResponse
  #out: Writable
  #error: Error | undefined

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
    this.#out.on('drain', () => listener.drained())
    this.#out.once('close', () => listener.closed(this.#error))
    // The client may have left between the request and now: 'close' already fired and will not again.
    if ((this.#out as { destroyed?: boolean }).destroyed === true)
      queueMicrotask(() => listener.closed(this.#error))
  }

  write(chunk: Uint8Array): boolean {
    return this.#out.write(chunk)
  }

  writev(chunks: readonly Uint8Array[]): boolean {
    // One joined buffer, one `write`: a `write` per chunk costs node:http a chunk header, a cork and a
    // nextTick each, even corked; joining the few hundred bytes of a turn is far cheaper
    // (bench/fanout.bench.ts throughput-1k: ~13 -> ~2.5 us of server CPU per delivered event).
    return this.#out.write(Buffer.concat(chunks))
  }

  bufferedBytes(): number {
    return this.#out.writableLength ?? 0
  }

  end(done: () => void): void {
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
