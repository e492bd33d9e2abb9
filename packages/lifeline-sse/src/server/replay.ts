/**
 * Resume under backpressure (docs/design.md §4, docs/delivery.md "Replay"): a backlog of any size is read
 * from history in pages and written as the socket drains, then the live events held meanwhile follow
 * with the seam exact. The work is bounded three ways:
 *
 * - per stream: a replayed event is written only while the transport is below its high-water mark, so
 *   at most one event waits beyond the socket; one page (`PAGE_BYTES`) is held at a time;
 * - per turn: one `ReplayScheduler` per hub runs the replays round-robin in `setImmediate` turns and
 *   stops a turn after `TURN_MS`, so resumes never stall the event loop (health probes, publishes);
 * - in total: encodings are shared through a byte-bounded cache, so N streams replaying the same
 *   history hold one copy of its bytes, not N.
 */

import { encodeReset, encodeStored } from './event-bytes.ts'
import type { History, ReadPage, StoredEvent } from './history/history.ts'

/** Stored events one page read examines at most (matching or not). */
export const PAGE_EVENTS = 256
/** Bytes of payload one page read holds at most (at least one event). */
export const PAGE_BYTES = 256 * 1024
/** First page: small, because the event sizes are not known yet (a Redis page is fetched whole). */
const FIRST_PAGE_EVENTS = 8
/** Bytes one replay writes before the next replay gets its turn (fairness between streams). */
const STEP_BYTES = 256 * 1024
/**
 * A scheduler turn ends after this long (or after the step that crosses it); the rest run in the next
 * turn, after I/O. Short, because while immediates are pending Node accepts about one connection per
 * event-loop turn: 100 pending connects took 1.3 s to accept beside 5 ms turns, 0.23 s beside 1 ms
 * turns (loaded 2-core machine). A health probe behind a reconnect storm waits for that.
 */
export const TURN_MS = 2
/** Held events written before the held list is compacted. */
const COMPACT_AT = 256
/** Encodings kept for other streams replaying the same events. */
export const ENCODED_CACHE_BYTES = 16 * 1024 * 1024

/** What a replay needs from its connection. */
export interface ReplayTarget {
  readonly state: string
  /** Writes one replayed or held event; true while the transport takes more (else wait for `drained`). */
  writeReplayed(id: string, bytes: Uint8Array, now: number): boolean
  /** Writes bytes outside the event flow (a reset). */
  writeNow(bytes: Uint8Array, now: number): void
  /** The replay caught up: the connection goes live. */
  endReplay(): void
  close(reason: 'error' | 'buffer_overflow'): void
}

/** What a replay needs from its hub. */
export interface ReplayContext {
  readonly history: History
  readonly scheduler: ReplayScheduler
  now(): number
  /** Counts a `lifeline:reset` sent (metric `resets_total`). */
  countReset(): void
  /** Counts events written from history (metric `replayed_events_total`). */
  countReplayed(n: number): void
  /** Bytes of live events a replaying stream may hold before it drops them and reads them from history. */
  readonly maxHeldBytes: number
}

interface HeldEvent {
  readonly id: string
  readonly bytes: Uint8Array
}

/** A cache no replay has read for this long is dropped: it shares work between replays, not across idle time. */
const ENCODED_CACHE_IDLE_MS = 1_000

/**
 * Encoded bytes by event id, least recently used out first, bounded by bytes. Held only while replays
 * use it: after ENCODED_CACHE_IDLE_MS without a read it is emptied, so a hub whose clients have all
 * caught up (or left) holds no encodings beyond its history.
 */
class EncodedCache {
  #map = new Map<string, Buffer>()
  #bytes = 0
  readonly #max: number
  #lastUse = 0
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(maxBytes: number) {
    this.#max = maxBytes
  }

  get(event: StoredEvent): Buffer {
    this.#lastUse = performance.now()
    this.#armIdleDrop()
    const hit = this.#map.get(event.id)
    if (hit !== undefined) {
      this.#map.delete(event.id)
      this.#map.set(event.id, hit)
      return hit
    }
    const bytes = encodeStored(event)
    if (bytes.byteLength > this.#max) return bytes
    this.#map.set(event.id, bytes)
    this.#bytes += bytes.byteLength
    for (const [id, old] of this.#map) {
      if (this.#bytes <= this.#max) break
      this.#map.delete(id)
      this.#bytes -= old.byteLength
    }
    return bytes
  }

  /** Entries held now (tests). */
  get size(): number {
    return this.#map.size
  }

  #armIdleDrop(): void {
    if (this.#timer !== undefined) return
    const check = (): void => {
      const idle = performance.now() - this.#lastUse
      if (idle >= ENCODED_CACHE_IDLE_MS) {
        this.#timer = undefined
        this.#map.clear()
        this.#bytes = 0
      } else {
        this.#timer = setTimeout(check, ENCODED_CACHE_IDLE_MS - idle)
        this.#timer.unref?.()
      }
    }
    this.#timer = setTimeout(check, ENCODED_CACHE_IDLE_MS)
    this.#timer.unref?.()
  }
}

/** Runs the replays of one hub in bounded turns. */
export class ReplayScheduler {
  readonly cache = new EncodedCache(ENCODED_CACHE_BYTES)
  #ready: Replay[] = []
  #armed = false
  readonly #runBound = () => this.#run()

  schedule(replay: Replay): void {
    if (replay.queued) return
    replay.queued = true
    this.#ready.push(replay)
    if (!this.#armed) {
      this.#armed = true
      setImmediate(this.#runBound)
    }
  }

  #run(): void {
    this.#armed = false
    const batch = this.#ready
    this.#ready = []
    const start = performance.now()
    let i = 0
    while (i < batch.length) {
      const replay = batch[i++] as Replay
      replay.queued = false
      replay.step()
      if (performance.now() - start >= TURN_MS) break
    }
    // Those not reached this turn go first next turn; a replay that yielded queued itself behind them.
    if (i < batch.length) this.#ready = batch.slice(i).concat(this.#ready)
    if (this.#ready.length > 0 && !this.#armed) {
      this.#armed = true
      setImmediate(this.#runBound)
    }
  }
}

/**
 * One stream's replay. Phases: pages of history (`#page`), then the held live events (`#held`), then
 * live. Live events that arrive meanwhile are held; past `maxHeldBytes` they are dropped and read back
 * from history instead (they are stored before they are fanned out), so memory stays bounded however
 * long the replay takes, and the seam stays exact: held events up to the last one replayed from
 * history are duplicates and skipped.
 */
export class Replay {
  /** In the scheduler's queue. */
  queued = false
  readonly #target: ReplayTarget
  readonly #ctx: ReplayContext
  readonly #match: (topics: readonly string[]) => boolean
  /** The id the client asked to resume after. */
  readonly #asked: string
  /** The next page is read after this id; undefined once a reset left nothing to read on from. */
  #readFrom: string | undefined
  #pageEvents = FIRST_PAGE_EVENTS
  #page: readonly StoredEvent[] | null = null
  #index = 0
  #historyDone = false
  #reading = false
  #waitingDrain = false
  #cancelled = false
  #resetSent = false
  #held: HeldEvent[] = []
  #heldIndex = 0
  #heldBytes = 0
  /** Newest id written from a history page: held events up to it were already sent. */
  #lastFromHistory: string | undefined
  /** Newest id written, from history or held. */
  #lastWritten: string | undefined

  constructor(
    target: ReplayTarget,
    ctx: ReplayContext,
    match: (topics: readonly string[]) => boolean,
    afterId: string,
  ) {
    this.#target = target
    this.#ctx = ctx
    this.#match = match
    this.#asked = afterId
    this.#readFrom = afterId
  }

  /** A live event for this stream while it replays. */
  hold(id: string, bytes: Uint8Array): void {
    if (this.#cancelled) return
    this.#held.push({ id, bytes })
    this.#heldBytes += bytes.byteLength
    if (this.#heldBytes <= this.#ctx.maxHeldBytes) return
    // Too much held: drop it all; history has every dropped event (stored before fanned out).
    this.#held = []
    this.#heldIndex = 0
    this.#heldBytes = 0
    if (this.#historyDone) {
      this.#historyDone = false
      if (this.#lastWritten !== undefined) this.#readFrom = this.#lastWritten
      if (this.#readFrom === undefined) {
        // A reset on an empty history left no id to read on from: the client resumes afresh.
        this.#target.close('buffer_overflow')
        return
      }
      if (!this.#waitingDrain) this.#ctx.scheduler.schedule(this)
    }
  }

  /** The transport drained below its high-water mark. */
  drained(): void {
    if (!this.#waitingDrain) return
    this.#waitingDrain = false
    this.#ctx.scheduler.schedule(this)
  }

  cancel(): void {
    this.#cancelled = true
    this.#page = null
    this.#held = []
  }

  /** Writes until the transport backs up, the step's budget is spent, or a page must be read. */
  step(): void {
    if (this.#cancelled || this.#reading || this.#waitingDrain || this.#target.state !== 'replaying') return
    const now = this.#ctx.now()
    const cache = this.#ctx.scheduler.cache
    let budget = STEP_BYTES
    let replayed = 0
    try {
      for (;;) {
        let id: string
        let bytes: Uint8Array
        const page = this.#page
        if (page !== null && this.#index < page.length) {
          const event = page[this.#index++] as StoredEvent
          // Release a page as soon as it is written: a stalled stream holds no payload.
          if (this.#index === page.length) this.#page = null
          id = event.id
          bytes = cache.get(event)
          this.#lastFromHistory = id
          replayed++
        } else if (!this.#historyDone) {
          this.#page = null
          this.#read()
          return
        } else if (this.#heldIndex < this.#held.length) {
          const held = this.#held[this.#heldIndex++] as HeldEvent
          this.#heldBytes -= held.bytes.byteLength
          if (this.#heldIndex >= COMPACT_AT && this.#heldIndex * 2 >= this.#held.length) {
            // Drop what was written, so a long held phase does not keep every event it sent.
            this.#held = this.#held.slice(this.#heldIndex)
            this.#heldIndex = 0
          }
          const after = this.#lastFromHistory ?? (this.#resetSent ? undefined : this.#asked)
          if (after !== undefined && this.#ctx.history.compare(held.id, after) <= 0) continue
          id = held.id
          bytes = held.bytes
        } else {
          // Caught up: from here on the fan-out writes to this stream directly.
          this.#held = []
          this.#cancelled = true
          this.#target.endReplay()
          return
        }
        this.#lastWritten = id
        budget -= bytes.byteLength
        if (!this.#target.writeReplayed(id, bytes, now)) {
          if (this.#target.state === 'replaying') this.#waitingDrain = true
          return
        }
        if (budget <= 0) {
          this.#ctx.scheduler.schedule(this)
          return
        }
      }
    } finally {
      if (replayed > 0) this.#ctx.countReplayed(replayed)
    }
  }

  #read(): void {
    const from = this.#readFrom as string
    this.#reading = true
    const page: ReadPage = { maxEvents: this.#pageEvents, maxBytes: PAGE_BYTES }
    this.#ctx.history.readAfter(from, this.#match, page).then(
      (result) => {
        this.#reading = false
        if (this.#cancelled || this.#target.state !== 'replaying') return
        if (result.kind === 'reset') {
          // Unknown or expired (also mid-replay, when retention trimmed what this slow reader had not
          // read yet): the client refetches state; the held live events follow the reset.
          const resumeFrom = this.#ctx.history.lastId()
          this.#ctx.countReset()
          this.#target.writeNow(encodeReset(result.reason, this.#asked, resumeFrom), this.#ctx.now())
          this.#resetSent = true
          // Read on (after an overflow of held events) from the reset point, not from before it.
          this.#lastWritten = undefined
          this.#readFrom = resumeFrom
          this.#historyDone = true
        } else {
          this.#page = result.events
          this.#index = 0
          this.#sizePages(result.events)
          if (result.next === undefined) this.#historyDone = true
          else this.#readFrom = result.next
        }
        this.#ctx.scheduler.schedule(this)
      },
      () => {
        // The store could not read (backend down): the client reconnects after `retry:` and resumes then.
        this.#target.close('error')
      },
    )
  }

  /** Next page's event count from this page's sizes, so a page of large events stays near PAGE_BYTES. */
  #sizePages(events: readonly StoredEvent[]): void {
    if (events.length === 0) {
      this.#pageEvents = PAGE_EVENTS
      return
    }
    let chars = 0
    for (const e of events) chars += e.data.length
    const average = Math.max(1, chars / events.length)
    this.#pageEvents = Math.max(1, Math.min(PAGE_EVENTS, Math.floor(PAGE_BYTES / average)))
  }
}
