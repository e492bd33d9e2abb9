import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Hub, StreamHandle, TransportTuning } from '../server/types.ts'
import { NodeSink } from './node.ts'
import { type AdapterOptions, openOrAnswer, parseRequestUrl, subscribeOptions } from './open-stream.ts'

/** The parts of Fastify's request and reply used here (structural: no import of fastify itself). */
export interface FastifyRequestLike {
  readonly raw: IncomingMessage
  readonly url: string
  readonly ip?: string
  readonly headers: IncomingMessage['headers']
}
export interface FastifyReplyLike {
  readonly raw: ServerResponse
  hijack(): unknown
  code(status: number): FastifyReplyLike
  headers(values: Record<string, string>): FastifyReplyLike
  send(payload?: unknown): unknown
}

/** Takes the raw response from Fastify (`reply.hijack()`) only once the stream is admitted. */
class FastifySink extends NodeSink {
  #reply: FastifyReplyLike

  constructor(request: FastifyRequestLike, reply: FastifyReplyLike) {
    super(request.raw, reply.raw)
    this.#reply = reply
  }

  override open(headers: ReadonlyArray<readonly [string, string]>, transport: TransportTuning): void {
    this.#reply.hijack()
    super.open(headers, transport)
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/**
 * Fastify route handler body: `app.get('/events', (request, reply) => { handleFastify(hub, request, reply) })`.
 * Refusals go out through `reply` (JSON, Retry-After); an admitted stream hijacks the reply and
 * writes to the raw response. Returns the open stream or undefined.
 */
export function handleFastify(
  hub: Hub,
  request: FastifyRequestLike,
  reply: FastifyReplyLike,
  options?: AdapterOptions,
): StreamHandle | undefined {
  const sub = subscribeOptions(
    {
      url: parseRequestUrl(request.url),
      lastEventIdHeader: header(request.headers['last-event-id']),
      userAgent: header(request.headers['user-agent']),
      // Fastify's `ip` already honours its own trustProxy setting.
      remoteAddress: request.ip ?? request.raw.socket.remoteAddress,
    },
    options,
  )
  const opened = openOrAnswer(hub, new FastifySink(request, reply), sub, options)
  if ('stream' in opened) return opened.stream
  const answer = opened.answer
  reply.code(answer.status).headers(answer.headers).send(answer.body)
  return undefined
}
