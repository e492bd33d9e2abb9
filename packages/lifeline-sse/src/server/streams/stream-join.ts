/**
 * Joining a finite stream over `/events` (Lifeline's SSE): without an id (`from=start`, `from=now`,
 * `from=last:N`) or with a Last-Event-ID, a subscriber of one stream topic replays the stream from the
 * stream store (which keeps it whole for its lifetime), not from the history ring (which may have
 * evicted it). The hub's replay machinery (replay.ts: pages, backpressure, the held-live-events seam)
 * runs unchanged over `StreamReplaySource`, a `History` whose reads come from the stream.
 *
 * A closed stream ends with its `lifeline:end` event; the hub closes the SSE stream right after it
 * (reason `ended`), so every reader, live, resumed or joining, stops at the same place.
 */
import { LifelineError } from '../../protocol/errors.ts'
import type { History, HistoryListener, ReadAfterResult, ReadPage, StoredEvent } from '../history/history.ts'
import { START_SENTINEL } from './offsets.ts'
import { END_EVENT, type StreamStore } from './stream-store.ts'

/** Join points that stand in for a Last-Event-ID: never ids (ids never contain `:` before their end). */
const JOIN_START = 'lifeline:join:start'
const JOIN_NOW = 'lifeline:join:now'
const JOIN_LAST = 'lifeline:join:last:'
/** Largest N of `from=last:N`. */
export const MAX_JOIN_LAST = 10_000

/** The join point of `?from=` (`start`, `now`, `last:N`), or undefined when absent. Throws on a bad one. */
export function parseJoin(from: string | undefined): string | undefined {
  if (from === undefined || from === '') return undefined
  if (from === 'start') return JOIN_START
  if (from === 'now') return JOIN_NOW
  const m = /^last:([0-9]{1,5})$/.exec(from)
  if (m !== null && Number(m[1]) <= MAX_JOIN_LAST) return JOIN_LAST + m[1]
  throw new LifelineError(
    'LIFELINE_ERR_QUERY_INVALID',
    `from=${JSON.stringify(from.slice(0, 32))} is invalid: use start, now or last:N (N up to ${MAX_JOIN_LAST})`,
  )
}

export function isJoinPoint(id: string): boolean {
  return id.startsWith('lifeline:join:')
}

/**
 * A `History` for one subscriber of one stream topic: reads come from the stream when the store holds
 * it (entries, then the end marker once closed), else from the hub's history as usual. Everything
 * else is the hub's history.
 */
export class StreamReplaySource implements History {
  readonly #history: History
  readonly #store: StreamStore
  readonly #topic: string
  /** Id of the end marker this source handed out (the hub closes the stream after writing it). */
  endId: string | undefined

  constructor(history: History, store: StreamStore, topic: string) {
    this.#history = history
    this.#store = store
    this.#topic = topic
  }

  async readAfter(
    afterId: string,
    match: (topics: readonly string[]) => boolean,
    page?: ReadPage,
  ): Promise<ReadAfterResult> {
    const limit = page?.maxEvents ?? 1_000
    const name = this.#topic
    const info = await this.#store.info(name, true)
    if (typeof info === 'string') {
      // Not a stream (or no longer): a plain topic resumes from the history ring; a join point there
      // means "from now" (the ring is not a stream's whole past).
      if (isJoinPoint(afterId)) return { kind: 'events', events: [] }
      return this.#history.readAfter(afterId, match, page)
    }
    // The replay stops at what this node's live feed has delivered: later entries reach the subscriber
    // live (held during the replay), so none comes both ways. (Redis: the stream can be ahead of this
    // node's XREAD; memory and file: the bound is the newest id.)
    const bound = this.#history.lastId()
    let result: Awaited<ReturnType<StreamStore['read']>>
    if (afterId.startsWith(JOIN_LAST)) {
      result = await this.#store.readLast(name, Number(afterId.slice(JOIN_LAST.length)))
    } else if (afterId === JOIN_NOW) {
      result = await this.#store.read(name, info.tail, limit, false)
    } else {
      const offset = afterId === JOIN_START ? START_SENTINEL : this.#store.offsetOf(afterId)
      if (offset === undefined) return { kind: 'reset', reason: 'unknown' }
      result = await this.#store.read(name, offset, limit, false)
    }
    if (result.kind === 'not_found' || result.kind === 'gone') return { kind: 'events', events: [] }
    if (result.kind !== 'entries') return { kind: 'reset', reason: 'unknown' }
    const delivered = (id: string): boolean => bound !== undefined && this.#history.compare(id, bound) <= 0
    const topics = [name]
    const events: StoredEvent[] = []
    for (const e of result.entries) {
      if (!delivered(e.id)) return { kind: 'events', events }
      events.push({ id: e.id, topics, data: e.data, time: 0 })
    }
    if (!result.upToDate) {
      return {
        kind: 'events',
        events,
        next: (result.entries[result.entries.length - 1] as { id: string }).id,
      }
    }
    const end = result.info.endId
    if (result.info.closed && end !== undefined && delivered(end)) {
      this.endId = end
      events.push({
        id: end,
        topics,
        event: END_EVENT,
        data: JSON.stringify({ offset: result.info.tail }),
        time: 0,
      })
    }
    return { kind: 'events', events }
  }

  compare(a: string, b: string): number {
    // A join point is before every id.
    const ja = isJoinPoint(a)
    const jb = isJoinPoint(b)
    if (ja || jb) return ja && jb ? 0 : ja ? -1 : 1
    return this.#history.compare(a, b)
  }

  append(
    topics: readonly string[],
    event: { readonly data: string; readonly event?: string | undefined },
  ): Promise<StoredEvent> {
    return this.#history.append(topics, event)
  }
  lastId(): string | undefined {
    return this.#history.lastId()
  }
  subscribe(listener: HistoryListener): () => void {
    return this.#history.subscribe(listener)
  }
  size(): number {
    return this.#history.size()
  }
  ready(): boolean {
    return this.#history.ready()
  }
  close(): Promise<void> {
    return Promise.resolve()
  }
}

/**
 * True when a subscription to `topic` would get nothing more, ever: a closed stream and a client that
 * already has its end marker (its Last-Event-ID), or that joins at the tail. Adapters answer it with
 * 204 No Content, which makes a browser's EventSource stop for good ([spec] WHATWG: a response whose
 * status is not 200 "fail[s] the connection") instead of reconnecting every few seconds.
 */
export async function streamHasEnded(
  store: StreamStore,
  topic: string,
  lastEventId: string | undefined,
  from: string | undefined,
): Promise<boolean> {
  if (lastEventId === undefined && from !== 'now') return false
  const info = await store.info(topic, false)
  if (typeof info === 'string' || !info.closed) return false
  return lastEventId === undefined ? true : lastEventId === info.endId
}
