/**
 * `POST /publish` to a finite stream (docs/streams.md): an event for a topic that is a stream is
 * appended through the stream store, so the stream keeps it for its lifetime, and may be idempotent:
 * with `Idempotency-Key: <key>` (or the Durable Streams producer headers `Producer-Id`,
 * `Producer-Epoch`, `Producer-Seq`) a retried publish is stored once and answered with the ids it
 * stored the first time (`200 {"id", "duplicate": true}` instead of `201`).
 */
import type { StreamStore } from 'lifeline-sse/server'
import { HttpError, type Req } from '../../shared/http-error.ts'
import type { AppContext } from '../context.ts'
import { appendRefusal } from '../durable/append-refusal.ts'
import { header, producerOf } from '../durable/request-headers.ts'

/** Longest idempotency key, in characters. */
const MAX_KEY = 256

export interface StreamPublish {
  readonly ids: readonly string[]
  readonly duplicate: boolean
}

/** The request's idempotency (key or producer); undefined when it asks for none. */
export function idempotencyOf(
  req: Req,
): { key?: string; producer?: ReturnType<typeof producerOf> } | undefined {
  const key = header(req, 'idempotency-key')
  const producer = producerOf(req)
  if (key === undefined && producer === undefined) return undefined
  if (key !== undefined && (key === '' || key.length > MAX_KEY)) {
    throw new HttpError('bad_request', `Idempotency-Key must be 1-${MAX_KEY} characters.`)
  }
  return { ...(key !== undefined ? { key } : {}), ...(producer !== undefined ? { producer } : {}) }
}

/**
 * Appends `data` (one entry each) when `topics` is one finite stream; undefined when it is not (the
 * caller publishes as usual). An idempotent publish to anything but one finite stream is a 400.
 */
export async function publishToStream(
  ctx: AppContext,
  topics: readonly string[],
  data: readonly string[],
  event: string | undefined,
  idempotency: ReturnType<typeof idempotencyOf>,
  key?: string,
): Promise<StreamPublish | undefined> {
  const store: StreamStore | undefined = ctx.hub.streams
  const topic = topics.length === 1 ? topics[0] : undefined
  const info = store !== undefined && topic !== undefined ? await store.info(topic, false) : 'not_found'
  if (typeof info === 'string' || store === undefined || topic === undefined) {
    if (idempotency !== undefined || key !== undefined) {
      throw new HttpError(
        'bad_request',
        'An idempotent publish needs one topic that is a finite stream: create it first (PUT /v1/stream/<topic>).',
      )
    }
    return undefined
  }
  if (event !== undefined) {
    throw new HttpError('bad_event', 'Entries of a finite stream carry data only: leave out "event".')
  }
  const result = await store.append(topic, {
    data,
    key: key ?? idempotency?.key,
    producer: idempotency?.producer,
  })
  if (result.kind === 'ok') return { ids: result.ids, duplicate: false }
  if (result.kind === 'duplicate') return { ids: result.ids ?? [], duplicate: true }
  throw appendRefusal(topic, result)
}
