import type { ClockTarget } from './clock.ts'
import type { ResolvedOptions } from './hub-options.ts'
import type { Replay, ReplayTarget } from './replay.ts'
import type {
  CloseReason,
  ConnectionInfo,
  ConnectionState,
  SinkListener,
  StreamHandle,
  StreamSink,
} from './types.ts'

/** What a connection needs from its hub; kept narrow so the hot path reads plain fields. */
export interface ConnectionContext {
  readonly options: ResolvedOptions
  /** Once per connection with pending bytes: the hub flushes them all together (after this turn, or later when behind). */
  markDirty(connection: Connection): void
  /** Exactly once per connection, at the moment it stops being open (registry, index, clock, stats). */
  onClosed(connection: Connection, reason: CloseReason): void
  onIdle(connection: Connection): void
  onWrite(bytes: number, events: number, heartbeat: boolean): void
  /** The events of `chunks` as one buffer; the same object for every connection that queued the same events. */
  join(chunks: readonly Uint8Array[]): Uint8Array
  /** A fresh jittered `retry:` field, sent before the hub ends a stream on purpose. */
  retryHint(): Uint8Array
}

/** `: ping` — the heartbeat comment, encoded once for the process. */
export const PING = Buffer.from(': ping\n\n')

const SLOW_CONSUMER: ReadonlySet<CloseReason> = new Set(['write_timeout', 'buffer_overflow'])

/**
 * One SSE stream. Every byte goes through `#write`, which knows what the transport holds, so the
 * slow-consumer rules (write timeout, buffer cap) are enforced in one place. Time-based rules run in
 * `tick`, called by the hub's one shared clock: a connection owns no timer.
 */
export class Connection implements ClockTarget, SinkListener, StreamHandle, ReplayTarget {
  readonly id: string
  readonly remoteAddress: string
  readonly userAgent: string
  readonly topics: readonly string[]
  readonly sink: StreamSink
  clockSlot = -1

  state: ConnectionState = 'open'
  closeReason: CloseReason | undefined
  /** Monotonic ms (the hub's `now`). */
  readonly openedAt: number
  /** Wall-clock ms. */
  readonly openedAtWall: number
  lastWriteAt: number
  lastEventAt: number
  bytesSent = 0
  eventsSent = 0
  lastEventId: string | undefined

  // Write path: events of one tick are joined into one transport write (one syscall per client per tick).
  /** Allocated on first use and reused: most idle streams never queue anything. */
  #pending: Uint8Array[] | null = null
  #pendingEvents = 0
  #pendingBytes = 0
  dirty = false
  /** The transport is above its high-water mark: events wait in `#pending` for `drained` (one write then). */
  #backedUp = false
  /** Monotonic ms by which the transport must drain, or 0 when it is not above its high-water mark. */
  #drainDeadline = 0
  /** Max lifetime (jittered) and token expiry, monotonic ms; Infinity when off. */
  #lifeEnd: number
  #tokenEnd: number
  #idleWarned = false
  /** Non-null while replaying history: live events are held by it, then deduplicated at the seam. */
  #replay: Replay | null = null
  #controller: AbortController | undefined
  #ctx: ConnectionContext

  constructor(
    ctx: ConnectionContext,
    id: string,
    sink: StreamSink,
    init: {
      remoteAddress: string
      userAgent: string
      topics: readonly string[]
      now: number
      lifeEnd: number
      tokenEnd: number
      lastEventId: string | undefined
    },
  ) {
    this.#ctx = ctx
    this.id = id
    this.sink = sink
    this.remoteAddress = init.remoteAddress
    this.userAgent = init.userAgent
    this.topics = init.topics
    this.openedAt = init.now
    this.openedAtWall = Date.now()
    this.lastWriteAt = init.now
    this.lastEventAt = init.now
    this.#lifeEnd = init.lifeEnd
    this.#tokenEnd = init.tokenEnd
    this.lastEventId = init.lastEventId
  }

  /** Created on first use: most streams are never asked for one, and an AbortController costs memory. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController()
      if (this.state === 'closed' || this.state === 'closing') this.#controller.abort(this.closeReason)
    }
    return this.#controller.signal
  }

  get bufferedBytes(): number {
    return this.sink.bufferedBytes() + this.#pendingBytes
  }

  info(): ConnectionInfo {
    const nowMono = this.#ctx.options.now()
    const wallNow = Date.now()
    return {
      id: this.id,
      remoteAddress: this.remoteAddress,
      userAgent: this.userAgent,
      topics: this.topics,
      openedAt: this.openedAtWall,
      lastWriteAt: Math.round(wallNow - (nowMono - this.lastWriteAt)),
      bytesSent: this.bytesSent,
      eventsSent: this.eventsSent,
      bufferedBytes: this.state === 'closed' ? 0 : this.bufferedBytes,
      lastEventId: this.lastEventId,
      state: this.state,
    }
  }

  // ---- writes ----

  /** A live event from the fan-out: the same bytes object for every subscriber. */
  deliver(id: string, bytes: Uint8Array): void {
    if (this.#replay !== null) {
      this.#replay.hold(id, bytes)
      return
    }
    if (this.state !== 'open') return
    this.#queue(id, bytes)
  }

  #queue(id: string, bytes: Uint8Array): void {
    if (this.#pending === null) this.#pending = []
    this.#pending.push(bytes)
    this.#pendingEvents++
    this.#pendingBytes += bytes.byteLength
    this.lastEventId = id
    if (this.#backedUp) {
      // Held for one write at `drained`; the cap counts them as queued (memory per client stays bounded).
      if (this.bufferedBytes > this.#ctx.options.maxBufferedBytes) this.close('buffer_overflow')
      return
    }
    if (!this.dirty) {
      this.dirty = true
      this.#ctx.markDirty(this)
    }
  }

  /** Writes what was queued since the last flush, in one transport write. Called by the hub's flush. */
  flush(now: number): void {
    this.dirty = false
    // A backed-up transport gets nothing more until it drains (the clock enforces the write timeout).
    if (!this.#backedUp) this.#writePending(now)
  }

  #writePending(now: number): void {
    const pending = this.#pending
    if (pending === null || pending.length === 0 || this.state !== 'open') return
    const events = this.#pendingEvents
    this.#pending = null
    this.#pendingEvents = 0
    this.#pendingBytes = 0
    this.lastEventAt = now
    this.#idleWarned = false
    // Several events: joined by the hub, once for every connection that queued the same ones.
    this.#write(
      pending.length === 1 ? (pending[0] as Uint8Array) : this.#ctx.join(pending),
      now,
      events,
      false,
    )
  }

  /** Bytes outside the event flow (first bytes, heartbeat, reset, final retry); flushes queued events first. */
  writeNow(bytes: Uint8Array, now: number, heartbeat = false): void {
    this.dirty = false
    this.#writePending(now)
    if (this.state === 'closed') return
    this.#write(bytes, now, 0, heartbeat)
  }

  #write(bytes: Uint8Array, now: number, events: number, heartbeat: boolean, paced = false): boolean {
    let ok: boolean
    try {
      ok = this.sink.write(bytes)
    } catch (error) {
      this.closed(error as Error)
      return false
    }
    this.#afterWrite(ok, bytes.byteLength, now, events, heartbeat, paced)
    return ok
  }

  #afterWrite(
    ok: boolean,
    size: number,
    now: number,
    events: number,
    heartbeat: boolean,
    paced = false,
  ): void {
    this.lastWriteAt = now
    this.bytesSent += size
    this.eventsSent += events
    this.#ctx.onWrite(size, events, heartbeat)
    if (ok) return
    this.#backedUp = true
    // Above the transport's high-water mark: the bytes wait in memory. Bound them by size at once and
    // by age through the clock (write timeout). A paced write (replay) was made below the mark and is
    // followed by no other until the transport drains: it holds at most one event beyond the mark.
    if (!paced && this.sink.bufferedBytes() > this.#ctx.options.maxBufferedBytes) {
      this.close('buffer_overflow')
      return
    }
    if (this.#drainDeadline === 0 && this.#ctx.options.writeTimeoutMs > 0) {
      this.#drainDeadline = now + this.#ctx.options.writeTimeoutMs
    }
  }

  // ---- replay seam (replay.ts drives it) ----

  beginReplay(replay: Replay): void {
    this.state = 'replaying'
    this.#replay = replay
  }

  /** One replayed (or held) event, paced by the replay: true while the transport takes more. */
  writeReplayed(id: string, bytes: Uint8Array, now: number): boolean {
    if (this.state !== 'replaying') return false
    this.lastEventId = id
    this.lastEventAt = now
    this.#idleWarned = false
    return this.#write(bytes, now, 1, false, true) && this.state === 'replaying'
  }

  /** The replay caught up: live events are written directly from now on. */
  endReplay(): void {
    this.#replay = null
    if (this.state === 'replaying') this.state = 'open'
  }

  // ---- clock ----

  tick(now: number): void {
    if (this.state === 'closed' || this.state === 'closing') return
    const o = this.#ctx.options
    if (this.#drainDeadline !== 0 && now >= this.#drainDeadline) {
      this.close('write_timeout')
      return
    }
    if (now >= this.#tokenEnd) {
      this.close('token_expired', this.#ctx.retryHint())
      return
    }
    if (now >= this.#lifeEnd) {
      // Rebalancing: the client reconnects after the hint, possibly to another node.
      this.close('max_lifetime', this.#ctx.retryHint())
      return
    }
    if (o.idleTimeoutMs > 0) {
      const quiet = now - this.lastEventAt
      if (quiet >= o.idleTimeoutMs) {
        this.close('idle_timeout')
        return
      }
      if (!this.#idleWarned && quiet >= o.idleTimeoutMs / 2) {
        this.#idleWarned = true
        this.#ctx.onIdle(this)
      }
    }
    // Heartbeat only when nothing at all was written for the interval; never while the transport is
    // already backed up (it would only add to the queue).
    if (o.heartbeatMs > 0 && now - this.lastWriteAt >= o.heartbeatMs && !this.dirty && !this.#backedUp) {
      this.#write(PING, now, 0, true)
    }
  }

  // ---- transport callbacks (SinkListener) ----

  drained(): void {
    this.#drainDeadline = 0
    this.#backedUp = false
    this.#replay?.drained()
    if (this.#pending !== null && !this.dirty && this.state === 'open') {
      this.dirty = true
      this.#ctx.markDirty(this)
    }
  }

  closed(error?: Error): void {
    if (this.state === 'closed') return
    if (this.state === 'closing') {
      this.state = 'closed'
      return
    }
    // The kernel gave up on a peer that stopped acknowledging (TCP_USER_TIMEOUT): a write timeout.
    const code = (error as NodeJS.ErrnoException | undefined)?.code
    this.#finish(code === 'ETIMEDOUT' ? 'write_timeout' : 'client_closed')
    this.state = 'closed'
  }

  // ---- close ----

  /**
   * Closes with exactly one reason. Slow consumers are destroyed (their queued bytes are not waited
   * for); every other reason ends the stream cleanly, after `finalBytes` (a `retry:` hint) when given.
   */
  close(reason: CloseReason = 'shutdown', finalBytes?: Uint8Array, done?: () => void): void {
    if (this.state === 'closed' || this.state === 'closing') {
      done?.()
      return
    }
    if (reason !== 'client_closed' && !SLOW_CONSUMER.has(reason) && this.#pending !== null) {
      this.dirty = false
      this.#writePending(this.#ctx.options.now())
    }
    if (this.state !== 'open' && this.state !== 'replaying') {
      done?.()
      return
    }
    this.#finish(reason)
    if (SLOW_CONSUMER.has(reason)) {
      this.state = 'closed'
      this.sink.destroy()
      done?.()
      return
    }
    if (finalBytes !== undefined) {
      try {
        this.sink.write(finalBytes)
      } catch {
        // The transport is already gone; ending below reports through `done`.
      }
    }
    this.sink.end(() => {
      this.state = 'closed'
      done?.()
    })
  }

  #finish(reason: CloseReason): void {
    this.state = 'closing'
    this.closeReason = reason
    this.#pending = null
    this.#pendingBytes = 0
    this.#replay?.cancel()
    this.#replay = null
    this.#ctx.onClosed(this, reason)
    this.#controller?.abort(reason)
  }
}
