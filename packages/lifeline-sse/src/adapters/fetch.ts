import type { Socket } from 'node:net'
import type { Hub, SinkListener, StreamSink, TransportTuning } from '../server/types.ts'
import { type AdapterOptions, openOrAnswer, parseRequestUrl, subscribeOptions } from './open-stream.ts'
import { tuneSocket } from './socket-tuning.ts'

/**
 * Bytes the Web stream queues before it reports backpressure (`write` returns false). The runtime's
 * own socket buffer comes after it; `maxBufferedBytes` bounds this queue.
 */
const HIGH_WATER_BYTES = 64 * 1024

/**
 * A stream over a Web `ReadableStream` of bytes (Hono, Bun, Deno, @hono/node-server). The body's
 * reader pulls; `desiredSize` tells what is queued, `pull` that it drained, `cancel` that the client left.
 */
class FetchSink implements StreamSink {
  headers: ReadonlyArray<readonly [string, string]> = []
  readonly body: ReadableStream<Uint8Array>
  #controller!: ReadableStreamDefaultController<Uint8Array>
  #listener: SinkListener | undefined
  #done = false
  #error: Error | undefined
  readonly socket: Socket | undefined

  constructor(socket: Socket | undefined) {
    this.socket = socket
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller
        },
        pull: () => {
          this.#listener?.drained()
        },
        cancel: () => this.cancelledByClient(),
      },
      { highWaterMark: HIGH_WATER_BYTES, size: (chunk) => chunk.byteLength },
    )
  }

  open(headers: ReadonlyArray<readonly [string, string]>, transport: TransportTuning): void {
    this.headers = headers
    // The runtime owns the socket; tune it only when the handler handed it over.
    if (this.socket !== undefined) {
      tuneSocket(this.socket, transport)
      // ETIMEDOUT here is the kernel giving up on the peer (TCP_USER_TIMEOUT): a write timeout.
      this.socket.once('error', (error: Error) => {
        this.#error = error
      })
    }
  }

  attach(listener: SinkListener): void {
    this.#listener = listener
  }

  write(chunk: Uint8Array): boolean {
    if (this.#done) return true
    this.#controller.enqueue(chunk)
    return (this.#controller.desiredSize ?? 0) > 0
  }

  bufferedBytes(): number {
    if (this.#done) return 0
    return Math.max(0, HIGH_WATER_BYTES - (this.#controller.desiredSize ?? 0))
  }

  /** The reader cancelled or the request was aborted: the client went away. */
  cancelledByClient(): void {
    if (this.#done) return
    this.#done = true
    this.#listener?.closed(this.#error)
  }

  end(done: () => void): void {
    if (!this.#done) {
      this.#done = true
      this.#controller.close()
    }
    done()
  }

  destroy(): void {
    if (this.#done) return
    this.#done = true
    this.#controller.error(new Error('slow consumer: stream aborted'))
    this.#listener?.closed()
  }
}

/**
 * Web `Request -> Response`: `app.get('/events', (c) => handleFetch(hub, c.req.raw))` in Hono. The
 * stream's `signal` also follows `request.signal` (the client went away). Pass `remoteAddress` in
 * `options` where the runtime knows it (Hono on Node: `getConnInfo(c).remote.address`).
 */
export function handleFetch(hub: Hub, request: Request, options?: AdapterOptions): Response {
  const sub = subscribeOptions(
    {
      url: parseRequestUrl(request.url),
      lastEventIdHeader: request.headers.get('last-event-id') ?? undefined,
      userAgent: request.headers.get('user-agent') ?? undefined,
      remoteAddress: undefined,
    },
    options,
  )
  const sink = new FetchSink(options?.socket)
  const opened = openOrAnswer(hub, sink, sub, options)
  if ('answer' in opened) {
    const { answer } = opened
    return new Response(answer.body, { status: answer.status, headers: answer.headers })
  }
  request.signal?.addEventListener('abort', () => sink.cancelledByClient(), { once: true })
  return new Response(sink.body, {
    status: 200,
    headers: sink.headers.map(([k, v]): [string, string] => [k, v]),
  })
}
