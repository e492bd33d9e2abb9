import { checkEventName, encodeRetry } from '../protocol/encode.ts'
import { LifelineError } from '../protocol/errors.ts'
import { RESERVED_PREFIX } from '../protocol/reserved.ts'
import { admit } from './admission.ts'
import { SweepClock } from './clock.ts'
import { Connection, type ConnectionContext } from './connection.ts'
import { encodeReset, encodeStored } from './event-bytes.ts'
import type { History, StoredEvent } from './history/history.ts'
import { MemoryHistory } from './history/memory-history.ts'
import { jitter, type ResolvedOptions, resolveOptions, sweepIntervalMs } from './hub-options.ts'
import { isMalformedId } from './last-event-id.ts'
import { CLOSE_REASONS, REJECT_REASONS } from './reasons.ts'
import { Registry } from './registry.ts'
import { Replay, type ReplayContext, ReplayScheduler, type ReplayTarget } from './replay.ts'
import { isJoinPoint, parseJoin, StreamReplaySource } from './streams/stream-join.ts'
import { END_EVENT, type StreamStore } from './streams/stream-store.ts'
import { compileMatcher, isPattern, TopicIndex, validatePublishTopic, validateTopic } from './topics.ts'
import type {
  CloseReason,
  ConnectionInfo,
  Hub,
  HubEvents,
  HubOptions,
  HubStats,
  OpenResult,
  StreamSink,
  SubscribeOptions,
  TransportTuning,
} from './types.ts'

/** docs/design.md §5: the SSE response headers. `Connection: keep-alive` is added by HTTP/1.1 sinks only. */
export const SSE_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['Content-Type', 'text/event-stream; charset=utf-8'],
  ['Cache-Control', 'no-cache'],
  ['X-Accel-Buffering', 'no'],
]

/** The comment sent right after `retry:` so proxies and clients see the stream open at once. */
const OPENED = Buffer.from(': ok\n\n')

/**
 * Adaptive coalescing. A flush costs about one transport write per dirty connection, however many
 * events it carries. While the hub keeps up, a flush runs right after the turn that queued it
 * (setImmediate: no added latency). When the last two flushes each cost at least BEHIND_MIN_COST_MS and
 * the event loop was idle for less than that since the flush before (events arrive faster than the
 * hub flushes them one by one, or the sockets are slow to take them), the hub is behind: the next flush waits until as long after the
 * last one ended as that one took, at most MAX_COALESCE_MS. Events published meanwhile (one per turn,
 * in bursts, by HTTP requests or Redis batches alike) then share one write per connection, flushing
 * keeps at most about half the time, and the added latency stays under MAX_COALESCE_MS.
 * bench/turns.bench.ts (tick-10k, flood-1k) measures it.
 */
const BEHIND_MIN_COST_MS = 1
const MAX_COALESCE_MS = 50

/** Node's event-loop idle time; runtimes without it report the loop as always idle (no coalescing). */
const eventLoopUtilization = (performance as { eventLoopUtilization?: () => { idle: number } })
  .eventLoopUtilization
function loopIdleMs(): number {
  return eventLoopUtilization === undefined ? performance.now() : eventLoopUtilization.call(performance).idle
}

/** Creates a hub: the framework-free core that adapters hand requests to. */
export function createHub(options: HubOptions = {}): Hub {
  return new LifelineHub(options)
}

type Listeners = { [E in keyof HubEvents]: Set<HubEvents[E]> }

class LifelineHub implements Hub, ConnectionContext {
  readonly options: ResolvedOptions
  readonly history: History
  readonly streams: StreamStore | undefined
  #index = new TopicIndex<Connection>()
  #registry = new Registry()
  #clock: SweepClock
  #stats: HubStats
  #listeners: Listeners = { open: new Set(), close: new Set(), reject: new Set(), idle: new Set() }
  #latencyListeners = new Set<(seconds: number) => void>()
  #unsubscribe: () => void
  #draining = false
  #closing: Promise<void> | undefined
  /** Connection ids: a per-hub random prefix and a counter (cheap, unique across a cluster's dashboards). */
  #idPrefix = Math.floor(Math.random() * 36 ** 4)
    .toString(36)
    .padStart(4, '0')
  #nextId = 0

  // Fan-out batching: connections with queued bytes this turn, flushed together (see the setImmediate below).
  #dirty: Connection[] = []
  #flushScheduled = false
  #flushBound = () => this.#flush()
  /** Wall-clock cost of flushes (performance.now, not the injected clock: this is real CPU time). */
  #flushStart = 0
  #lastJoin: readonly Uint8Array[] | null = null
  #lastJoined: Uint8Array | null = null
  #flushedBound = () => this.#flushed()
  /** The event loop's idle time (ms, performance.eventLoopUtilization) when the last flush ended. */
  #lastIdle = 0
  #lastFlushEnd = 0
  #lastFlushCost = 0
  #slowFlushes = 0
  #behind = false
  /** Monotonic times of the events fanned out this tick (only while someone listens for latency). */
  #batchTimes: number[] = []

  constructor(options: HubOptions) {
    this.options = resolveOptions(options)
    if (options.history !== undefined) checkHistory(options.history)
    this.history =
      options.history ??
      new MemoryHistory({
        maxEvents: this.options.historySize,
        maxBytes: this.options.historyMaxBytes,
        ttlMs: this.options.historyTtlMs,
      })
    this.streams = options.streams?.(this.history)
    this.#replayContext = {
      history: this.history,
      scheduler: this.#replays,
      now: this.options.now,
      countReset: () => {
        this.#stats.resets++
      },
      countReplayed: (n) => {
        this.#stats.replayed += n
      },
      // Live events held during a replay are bounded like the bytes queued for a live stream.
      maxHeldBytes: this.options.maxBufferedBytes,
    }
    this.#transport = {
      // The kernel drops a peer whose unacknowledged bytes wait longer than the write timeout.
      userTimeoutMs: this.options.writeTimeoutMs,
      // Probes only matter when nothing is written: with heartbeats on, start them after one interval.
      keepAliveMs: this.options.heartbeatMs > 0 ? this.options.heartbeatMs : 15_000,
    }
    this.#clock = new SweepClock(sweepIntervalMs(this.options), this.options.now)
    this.#stats = {
      connections: 0,
      opened: 0,
      closed: Object.fromEntries(CLOSE_REASONS.map((r) => [r, 0])) as HubStats['closed'],
      rejected: Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as HubStats['rejected'],
      published: 0,
      delivered: 0,
      bytesSent: 0,
      heartbeats: 0,
      replayed: 0,
      resets: 0,
      historyEvents: 0,
    }
    this.#unsubscribe = this.history.subscribe({
      onEvent: (event) => this.#fanOut(event),
      onReset: (reason) => {
        // The store lost acknowledged events: every open stream learns it and refetches state.
        const now = this.options.now()
        for (const c of this.#registry.byId.values()) {
          if (c.state !== 'open') continue
          this.#stats.resets++
          c.writeNow(encodeReset(reason, c.lastEventId), now)
        }
      },
    })
  }

  get size(): number {
    return this.#registry.size
  }

  get draining(): boolean {
    return this.#draining
  }

  /** Sweep period of the shared clock, ms (tests and the dashboard). */
  get sweepIntervalMs(): number {
    return this.#clock.intervalMs
  }

  ready(): boolean {
    return !this.#draining && this.history.ready()
  }

  // ---- publish and fan-out ----

  async publish(
    topics: string | readonly string[],
    event: { data: string; event?: string | undefined },
  ): Promise<string> {
    if (this.#closing !== undefined) {
      throw new LifelineError(
        'LIFELINE_ERR_HUB_CLOSED',
        'this hub is closed (close() was called): publish before closing, or create a new hub',
      )
    }
    const list = typeof topics === 'string' ? [topics] : topics
    if (!Array.isArray(list) || list.length === 0) {
      throw new LifelineError(
        'LIFELINE_ERR_TOPIC_INVALID',
        'no topic given: publish(topic | topics[], { data }) needs at least one topic',
      )
    }
    for (const t of list) validatePublishTopic(t)
    if (event === null || typeof event !== 'object' || typeof event.data !== 'string') {
      throw new LifelineError(
        'LIFELINE_ERR_DATA_INVALID',
        'event data must be a string: JSON.stringify other values before publishing',
      )
    }
    const name = event.event
    if (name !== undefined) {
      checkEventName(name)
      if (name.startsWith(RESERVED_PREFIX)) {
        throw new LifelineError(
          'LIFELINE_ERR_EVENT_NAME_RESERVED',
          `event name ${JSON.stringify(name.slice(0, 64))} starts with "lifeline:", which is reserved: pick another name`,
        )
      }
    }
    let stored: StoredEvent
    try {
      stored = await this.history.append(
        list,
        name === undefined ? { data: event.data } : { data: event.data, event: name },
      )
    } catch (error) {
      if (error instanceof LifelineError) throw error
      throw new LifelineError(
        'LIFELINE_ERR_BACKEND_UNAVAILABLE',
        'the history backend could not store the event (nothing was published): retry when it is back',
        { cause: error },
      )
    }
    this.#stats.published++
    return stored.id
  }

  /** The store's live feed: encode once, then the same bytes to every matching connection. */
  #fanOut(event: StoredEvent): void {
    const bytes = encodeStored(event)
    const id = event.id
    let reached = false
    this.#index.forEachSubscriber(event.topics, (c) => {
      reached = true
      c.deliver(id, bytes)
    })
    if (reached && this.#latencyListeners.size > 0) this.#batchTimes.push(this.options.now())
    if (event.event === END_EVENT && reached) this.#endStreams(event)
  }

  /** A finite stream closed: its subscribers get the end marker last, then their SSE stream ends. */
  #endStreams(event: StoredEvent): void {
    const ending: Connection[] = []
    this.#index.forEachSubscriber(event.topics, (c) => {
      ending.push(c)
    })
    for (const c of ending) {
      // A replaying stream holds the marker; it ends once the replay writes it (#endingTarget).
      if (c.state === 'replaying') this.#endAt.set(c, event.id)
      else c.close('ended')
    }
  }

  /** The replay target of a connection, ending it right after it writes an end marker. */
  #endingTarget(c: Connection, source: StreamReplaySource | undefined): ReplayTarget {
    const endAt = this.#endAt
    return {
      get state() {
        return c.state
      },
      writeReplayed(id, bytes, now) {
        const more = c.writeReplayed(id, bytes, now)
        if (id !== endAt.get(c) && id !== source?.endId) return more
        c.close('ended')
        return false
      },
      writeNow: (bytes, now) => c.writeNow(bytes, now),
      endReplay: () => c.endReplay(),
      close: (reason) => c.close(reason),
    }
  }

  markDirty(connection: Connection): void {
    this.#dirty.push(connection)
    if (this.#flushScheduled) return
    this.#flushScheduled = true
    if (this.#behind) {
      // Behind (see MAX_COALESCE_MS): let the events of the next turns join this flush.
      const wait = this.#lastFlushEnd + Math.min(this.#lastFlushCost, MAX_COALESCE_MS) - performance.now()
      if (wait >= 1) {
        setTimeout(this.#flushBound, wait)
        return
      }
    }
    // setImmediate, not a microtask: the flush runs once after every I/O callback of this event-loop
    // turn, so events published by several requests read in one turn (HTTP publishers, Redis XREAD
    // batches) share one write per connection. With a microtask each publish request flushed alone:
    // one syscall per event per client (bench/fanout.bench.ts throughput-1k: ~3x fewer events/s).
    setImmediate(this.#flushBound)
  }

  /** One transport write per dirty connection for everything published since the last flush. */
  #flush(): void {
    this.#flushScheduled = false
    this.#flushStart = performance.now()
    const dirty = this.#dirty
    this.#dirty = []
    const now = this.options.now()
    for (let i = 0; i < dirty.length; i++) (dirty[i] as Connection).flush(now)
    // Transports that corked their writes (node:http's ServerResponse) send them in nextTicks queued
    // during the flush: the cost is measured after those.
    process.nextTick(this.#flushedBound)
    this.#lastJoin = null
    this.#lastJoined = null
    if (this.#batchTimes.length > 0) {
      const times = this.#batchTimes
      this.#batchTimes = []
      for (const t of times) {
        const seconds = (now - t) / 1000
        for (const l of this.#latencyListeners) l(seconds)
      }
    }
  }

  /** How long the flush took and whether the loop had spare time since the last one: behind or not. */
  #flushed(): void {
    const end = performance.now()
    const cost = end - this.#flushStart
    const idle = loopIdleMs()
    // The loop waited for I/O or timers less than the flush took: events come faster than flushes.
    // (Idle time, not wall time: a process that other processes keep off the CPU is not idle.)
    const slow = cost >= BEHIND_MIN_COST_MS && idle - this.#lastIdle < cost
    this.#lastIdle = idle
    // Two such flushes in a row: one slow flush is as likely a GC pause.
    this.#slowFlushes = slow ? this.#slowFlushes + 1 : 0
    this.#behind = this.#slowFlushes >= 2
    this.#lastFlushEnd = end
    this.#lastFlushCost = cost
  }

  join(chunks: readonly Uint8Array[]): Uint8Array {
    // One entry is enough: connections of a topic are flushed one after another and queued the same
    // events, so a 10k-stream flush joins once instead of 10k times. Cleared after each flush.
    const last = this.#lastJoin
    if (last !== null && last.length === chunks.length) {
      let same = true
      for (let i = 0; i < chunks.length; i++) {
        if (last[i] !== chunks[i]) {
          same = false
          break
        }
      }
      if (same) return this.#lastJoined as Uint8Array
    }
    const joined = Buffer.concat(chunks)
    this.#lastJoin = chunks
    this.#lastJoined = joined
    return joined
  }

  retryHint(): Uint8Array {
    return encodeRetry(jitter(this.options.retryMs, 0.2, this.options.random))
  }

  onWrite(bytes: number, events: number, heartbeat: boolean): void {
    const s = this.#stats
    s.bytesSent += bytes
    s.delivered += events
    if (heartbeat) s.heartbeats++
  }

  // ---- streams ----

  open(sink: StreamSink, options: SubscribeOptions): OpenResult {
    const topics = options.topics
    if (topics.length === 0) {
      throw new LifelineError(
        'LIFELINE_ERR_TOPIC_INVALID',
        'no topic given: subscribe with at least one topic (e.g. ?topic=news)',
      )
    }
    for (const t of topics) validateTopic(t)
    const join = parseJoin(options.from)
    const remoteAddress = options.remoteAddress ?? 'unknown'
    const rejection = admit(this.options, this.#registry, this.#draining, remoteAddress)
    if (rejection !== undefined) {
      this.#stats.rejected[rejection.reason]++
      this.#emit('reject', rejection.reason, remoteAddress)
      return { ok: false, rejection }
    }
    const o = this.options
    const now = o.now()
    const lastEventId = options.lastEventId === '' ? undefined : options.lastEventId
    const connection = new Connection(this, `${this.#idPrefix}-${(++this.#nextId).toString(36)}`, sink, {
      remoteAddress,
      userAgent: options.userAgent ?? '',
      topics: [...topics],
      now,
      lifeEnd: o.maxLifetimeMs > 0 ? now + jitter(o.maxLifetimeMs, 0.1, o.random) : Number.POSITIVE_INFINITY,
      tokenEnd:
        options.expiresAt !== undefined ? now + (options.expiresAt - Date.now()) : Number.POSITIVE_INFINITY,
      lastEventId,
    })
    sink.open(SSE_HEADERS, this.#transport)
    sink.attach(connection)
    this.#registry.add(connection)
    this.#index.add(connection, connection.topics)
    this.#clock.add(connection)
    this.#stats.opened++
    // First bytes at once: a jittered `retry:` (a fleet must not reconnect in lockstep) and a comment.
    // One write (one chunk, one packet with the headers): a proxy sees the stream open at once.
    connection.writeNow(Buffer.concat([encodeRetry(jitter(o.retryMs, 0.2, o.random)), OPENED]), now)
    // info() allocates a snapshot: only for someone listening (the hub app logs it; a library user may not).
    if (this.#listeners.open.size > 0) this.#emit('open', connection.info())
    const resumeFrom = lastEventId ?? join
    if (resumeFrom !== undefined && connection.state === 'open') this.#resume(connection, resumeFrom, now)
    return { ok: true, stream: connection }
  }

  /** docs/design.md §4: replay after the id, then live, with live events held during the replay (replay.ts). */
  #resume(connection: Connection, lastEventId: string, now: number): void {
    if (isMalformedId(lastEventId) && !isJoinPoint(lastEventId)) {
      this.#stats.resets++
      connection.writeNow(encodeReset('malformed', lastEventId, this.history.lastId()), now)
      return
    }
    // One exact topic and a stream store: the stream may be a finite stream, read whole from the store
    // (stream-join.ts); any other subscription replays from the history ring.
    const topic = connection.topics.length === 1 ? (connection.topics[0] as string) : undefined
    const source =
      this.streams !== undefined && topic !== undefined && !isPattern(topic)
        ? new StreamReplaySource(this.history, this.streams, topic)
        : undefined
    const context = source === undefined ? this.#replayContext : { ...this.#replayContext, history: source }
    const target = this.#endingTarget(connection, source)
    const replay = new Replay(target, context, compileMatcher(connection.topics), lastEventId)
    connection.beginReplay(replay)
    this.#replays.schedule(replay)
  }

  onClosed(connection: Connection, reason: CloseReason): void {
    if (!this.#registry.delete(connection)) return
    this.#index.remove(connection)
    this.#clock.delete(connection)
    this.#stats.closed[reason]++
    if (this.#listeners.close.size > 0) {
      this.#emit('close', connection.info(), reason, this.options.now() - connection.openedAt)
    }
  }

  onIdle(connection: Connection): void {
    if (this.#listeners.idle.size > 0) this.#emit('idle', connection.info())
  }

  connections(): ConnectionInfo[] {
    const out: ConnectionInfo[] = []
    for (const c of this.#registry.byId.values()) out.push(c.info())
    return out
  }

  stats(): HubStats {
    const s = this.#stats
    return {
      ...s,
      closed: { ...s.closed },
      rejected: { ...s.rejected },
      connections: this.#registry.size,
      historyEvents: this.history.size(),
    }
  }

  topicCounts(): Map<string, number> {
    return this.#index.counts()
  }

  on<E extends keyof HubEvents>(event: E, listener: HubEvents[E]): () => void {
    const set = this.#listeners[event] as Set<HubEvents[E]>
    set.add(listener)
    return () => set.delete(listener)
  }

  onPublishToWrite(listener: (seconds: number) => void): () => void {
    this.#latencyListeners.add(listener)
    return () => this.#latencyListeners.delete(listener)
  }

  #emit<E extends keyof HubEvents>(event: E, ...args: Parameters<HubEvents[E]>): void {
    for (const listener of this.#listeners[event]) {
      try {
        ;(listener as (...a: Parameters<HubEvents[E]>) => void)(...args)
      } catch (error) {
        // A faulty listener must not leave a connection half-closed: report it outside this call.
        queueMicrotask(() => {
          throw error
        })
      }
    }
  }

  // ---- shutdown ----

  close(): Promise<void> {
    this.#closing ??= this.#drain()
    return this.#closing
  }

  async #drain(): Promise<void> {
    this.#draining = true
    const o = this.options
    const ends: Promise<void>[] = []
    for (const c of [...this.#registry.byId.values()]) {
      // Each stream gets its own jittered `retry:` so the fleet does not come back in one wave.
      ends.push(new Promise<void>((resolve) => c.close('shutdown', this.retryHint(), resolve)))
      this.#pendingEnds.add(c)
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, o.shutdownTimeoutMs)
    })
    await Promise.race([Promise.all(ends), timedOut])
    clearTimeout(timer)
    // Past the deadline, in-flight writes are abandoned.
    for (const c of this.#pendingEnds) if (c.state !== 'closed') c.sink.destroy()
    this.#pendingEnds.clear()
    this.#clock.stop()
    this.#unsubscribe()
    await this.history.close()
  }

  #pendingEnds = new Set<Connection>()
  #transport: TransportTuning
  #replays = new ReplayScheduler()
  /** Replaying connections that were sent a stream's end marker live, by its id. */
  #endAt = new WeakMap<Connection, string>()
  #replayContext: ReplayContext
}

/** The methods a `History` must have; a plain object passed as `history` fails here, not mid-publish. */
const HISTORY_METHODS = [
  'append',
  'readAfter',
  'lastId',
  'compare',
  'subscribe',
  'size',
  'ready',
  'close',
] as const

function checkHistory(history: History): void {
  const missing = HISTORY_METHODS.filter(
    (name) => typeof (history as unknown as Record<string, unknown>)[name] !== 'function',
  )
  if (missing.length > 0) {
    throw new LifelineError(
      'LIFELINE_ERR_OPTION_INVALID',
      `options.history is not a History (missing ${missing.join(', ')}): pass a MemoryHistory, a FileHistory, createRedisHistory()'s result, or leave it out`,
    )
  }
}
