/**
 * The embedded default history: a ring of the most recent events in this process, trimmed by count,
 * bytes and age. Ids are `<epoch>-<seq>` (ids.ts) with a new epoch per start, so an id from a previous
 * run is `unknown`.
 *
 * Everything is synchronous under the Promise surface: `append` stores, then calls the listeners, then
 * resolves; `readAfter` takes its snapshot when called. A hub that registers a connection for live
 * events and calls `readAfter` in the same tick therefore sees every event exactly once.
 */
import type { HistoryErrorOptions, ReadAfterResult, ReadPage, StoredEvent } from './history.ts'
import { newEpoch } from './ids.ts'
import { eventHeldBytes, type Retention, type RetentionOptions, retention } from './retention.ts'
import { type EventInput, SeqStore, type TopicMatch } from './seq-store.ts'

/** First ring allocation; it doubles up to maxEvents, so a small hub does not reserve 10k slots. */
const INITIAL_CAPACITY = 256

export interface MemoryHistoryOptions extends RetentionOptions, HistoryErrorOptions {
  /** Id epoch. @default a fresh one per instance (tests pass a fixed one). */
  epoch?: string
}

export class MemoryHistory extends SeqStore {
  readonly epoch: string
  readonly #retention: Retention
  /** Ring slots; `#head` is the oldest, `count` are in use. */
  #events: (StoredEvent | undefined)[]
  #bytes: number[]
  #head = 0

  constructor(options: MemoryHistoryOptions = {}) {
    super(options.onError)
    this.#retention = retention(options)
    this.epoch = options.epoch ?? newEpoch(this.#retention.now())
    const capacity = Math.max(1, Math.min(INITIAL_CAPACITY, this.#retention.maxEvents))
    this.#events = new Array(capacity)
    this.#bytes = new Array(capacity).fill(0)
  }

  override append(topics: readonly string[], input: EventInput): Promise<StoredEvent> {
    if (this.closed) return Promise.reject(this.closedError('the memory history'))
    const now = this.#retention.now()
    this.#trimAge(now)
    const seq = this.nextSeq++
    const event = this.storedEvent(seq, topics, input, now)
    // What the strings hold in memory, not their UTF-8 length: the cap bounds the heap
    // (test/delivery/history-memory-bytes.test.ts measures it after a full GC).
    const size = eventHeldBytes(topics, input.data, input.event)
    // Full at maxEvents: the oldest makes room (count retention) before the slot is reused.
    if (this.count === this.#events.length && !this.#grow()) this.#shift()
    const slot = (this.#head + this.count) % this.#events.length
    this.#events[slot] = event
    this.#bytes[slot] = size
    this.count++
    this.totalBytes += size
    const { maxEvents, maxBytes } = this.#retention
    while (this.count > maxEvents) this.#shift()
    while (this.totalBytes > maxBytes && this.count > 0) this.#shift()
    this.notify(event)
    return Promise.resolve(event)
  }

  override readAfter(afterId: string, match: TopicMatch, page?: ReadPage): Promise<ReadAfterResult> {
    this.#trimAge(this.#retention.now())
    const seq = this.resumeCheck(afterId)
    if (typeof seq !== 'number') return Promise.resolve(seq)
    const events: StoredEvent[] = []
    const cap = this.#events.length
    const maxEvents = page?.maxEvents ?? Number.POSITIVE_INFINITY
    const maxBytes = page?.maxBytes ?? Number.POSITIVE_INFINITY
    let examined = 0
    let bytes = 0
    // Contiguous seqs: the slot of seq+1 is found by subtraction (no scan, no search).
    for (let i = seq + 1 - this.firstSeq; i < this.count; i++) {
      const slot = (this.#head + i) % cap
      const e = this.#events[slot]!
      if (match(e.topics)) events.push(e)
      examined++
      bytes += this.#bytes[slot]!
      if ((examined >= maxEvents || bytes >= maxBytes) && i + 1 < this.count) {
        return Promise.resolve({ kind: 'events', events, next: e.id })
      }
    }
    return Promise.resolve({ kind: 'events', events })
  }

  #trimAge(now: number): void {
    const ttl = this.#retention.ttlMs
    if (ttl === 0) return
    const cutoff = now - ttl
    while (this.count > 0 && this.#events[this.#head]!.time < cutoff) this.#shift()
  }

  #shift(): void {
    const h = this.#head
    this.totalBytes -= this.#bytes[h]!
    this.#events[h] = undefined
    this.#head = (h + 1) % this.#events.length
    this.count--
    this.firstSeq++
  }

  /** Doubles the ring up to maxEvents; false when it is already that large. */
  #grow(): boolean {
    const old = this.#events
    const oldBytes = this.#bytes
    const cap = Math.min(old.length * 2, Math.max(this.#retention.maxEvents, 1))
    if (cap <= old.length) return false
    const events: (StoredEvent | undefined)[] = new Array(cap)
    const bytes: number[] = new Array(cap).fill(0)
    for (let i = 0; i < this.count; i++) {
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
