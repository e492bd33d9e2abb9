/**
 * The embedded default history: a ring of the most recent events in this process, trimmed by count,
 * bytes and age. Ids are `<epoch>-<seq>` (ids.ts) with a new epoch per start, so an id from a previous
 * run is `unknown`.
 *
 * Everything is synchronous under the Promise surface: `append` stores, then calls the listeners, then
 * resolves; `readAfter` takes its snapshot when called. A hub that registers a connection for live
 * events and calls `readAfter` in the same tick therefore sees every event exactly once.
 */
import type { History, HistoryListener, ReadAfterResult, StoredEvent } from './history.ts'
import { compareIds, formatId, newEpoch, parseSeq } from './ids.ts'
import { notify } from './notify.ts'
import { eventBytes, type Retention, type RetentionOptions, retention } from './retention.ts'

/** First ring allocation; it doubles up to maxEvents, so a small hub does not reserve 10k slots. */
const INITIAL_CAPACITY = 256

export interface MemoryHistoryOptions extends RetentionOptions {
  /** Id epoch. @default a fresh one per instance (tests pass a fixed one). */
  epoch?: string
}

const UNKNOWN: ReadAfterResult = Object.freeze({ kind: 'reset', reason: 'unknown' })
const EXPIRED: ReadAfterResult = Object.freeze({ kind: 'reset', reason: 'expired' })

export class MemoryHistory implements History {
  readonly epoch: string
  readonly #retention: Retention
  /** Ring slots; `#head` is the oldest, `#count` are in use. */
  #events: (StoredEvent | undefined)[]
  #bytes: number[]
  #head = 0
  #count = 0
  /** Seq of the oldest event kept (equals #nextSeq when empty). Seqs in the ring are contiguous. */
  #firstSeq = 1
  #nextSeq = 1
  #totalBytes = 0
  #listeners: readonly HistoryListener[] = []
  #closed = false

  constructor(options: MemoryHistoryOptions = {}) {
    this.#retention = retention(options)
    this.epoch = options.epoch ?? newEpoch(this.#retention.now())
    const capacity = Math.max(1, Math.min(INITIAL_CAPACITY, this.#retention.maxEvents))
    this.#events = new Array(capacity)
    this.#bytes = new Array(capacity).fill(0)
  }

  append(
    topics: readonly string[],
    input: { readonly data: string; readonly event?: string | undefined },
  ): Promise<StoredEvent> {
    if (this.#closed) return Promise.reject(new Error('history is closed'))
    const now = this.#retention.now()
    this.#trimAge(now)
    const seq = this.#nextSeq++
    const event: StoredEvent = {
      id: formatId(this.epoch, seq),
      topics: topics.slice(),
      event: input.event,
      data: input.data,
      time: now,
    }
    const size = eventBytes(topics, input.data, input.event)
    // Full at maxEvents: the oldest makes room (count retention) before the slot is reused.
    if (this.#count === this.#events.length && !this.#grow()) this.#shift()
    const slot = (this.#head + this.#count) % this.#events.length
    this.#events[slot] = event
    this.#bytes[slot] = size
    this.#count++
    this.#totalBytes += size
    const { maxEvents, maxBytes } = this.#retention
    while (this.#count > maxEvents) this.#shift()
    while (this.#totalBytes > maxBytes && this.#count > 0) this.#shift()
    // Listeners run synchronously, in id order, once per event (the hub fans out from here).
    notify(this.#listeners, event)
    return Promise.resolve(event)
  }

  readAfter(afterId: string, match: (topics: readonly string[]) => boolean): Promise<ReadAfterResult> {
    this.#trimAge(this.#retention.now())
    const seq = parseSeq(afterId, this.epoch)
    // An id of another epoch, or past the newest id this run assigned, was never ours.
    if (seq === undefined || seq >= this.#nextSeq) return Promise.resolve(UNKNOWN)
    // The event right after `seq` was trimmed: the client may have missed it.
    if (seq < this.#firstSeq - 1) return Promise.resolve(EXPIRED)
    const events: StoredEvent[] = []
    const cap = this.#events.length
    // Contiguous seqs: the slot of seq+1 is found by subtraction (no scan, no search).
    for (let i = seq + 1 - this.#firstSeq; i < this.#count; i++) {
      const e = this.#events[(this.#head + i) % cap]!
      if (match(e.topics)) events.push(e)
    }
    return Promise.resolve({ kind: 'events', events })
  }

  /** The newest id this run assigned (even when since trimmed), or undefined before the first append. */
  lastId(): string | undefined {
    return this.#nextSeq > 1 ? formatId(this.epoch, this.#nextSeq - 1) : undefined
  }

  compare(a: string, b: string): number {
    return compareIds(this.epoch, a, b)
  }

  subscribe(listener: HistoryListener): () => void {
    this.#listeners = [...this.#listeners, listener]
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener)
    }
  }

  size(): number {
    return this.#count
  }

  /** Payload bytes held now. */
  bytes(): number {
    return this.#totalBytes
  }

  ready(): boolean {
    return !this.#closed
  }

  close(): Promise<void> {
    this.#closed = true
    this.#listeners = []
    return Promise.resolve()
  }

  #trimAge(now: number): void {
    const ttl = this.#retention.ttlMs
    if (ttl === 0) return
    const cutoff = now - ttl
    while (this.#count > 0 && this.#events[this.#head]!.time < cutoff) this.#shift()
  }

  #shift(): void {
    const h = this.#head
    this.#totalBytes -= this.#bytes[h]!
    this.#events[h] = undefined
    this.#head = (h + 1) % this.#events.length
    this.#count--
    this.#firstSeq++
  }

  /** Doubles the ring up to maxEvents; false when it is already that large. */
  #grow(): boolean {
    const old = this.#events
    const oldBytes = this.#bytes
    const cap = Math.min(old.length * 2, Math.max(this.#retention.maxEvents, 1))
    if (cap <= old.length) return false
    const events: (StoredEvent | undefined)[] = new Array(cap)
    const bytes: number[] = new Array(cap).fill(0)
    for (let i = 0; i < this.#count; i++) {
      const from = (this.#head + i) % old.length
      events[i] = old[from]
      bytes[i] = oldBytes[from]!
    }
    this.#events = events
    this.#bytes = bytes
    this.#head = 0
    return true
  }
}
