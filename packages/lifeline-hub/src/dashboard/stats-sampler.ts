/**
 * The dashboard's one timer. While at least one dashboard watches, it samples the hub once per
 * interval: per-second rates from the difference of the hub's cumulative counters, state counts and
 * buffered bytes from one pass over the registry, event-loop delay and heap. Nobody watching: no timer.
 *
 * Cost per sample is one `hub.connections()` pass and one `topicCounts()` sort, whatever the number
 * of dashboards; nothing runs per event or per connection in between.
 */
import { type ELDHistogram, monitorEventLoopDelay } from 'node:perf_hooks'
import type { CloseReason, ConnectionState, Hub, HubStats } from 'lifeline-sse/server'
import type { StatsFrame } from './stats-frame.ts'

const NS_PER_MS = 1e6
const MS_PER_S = 1000
// monitorEventLoopDelay's sampling period, ms. 20 ms resolves the lags that matter (tens of ms) at
// 50 wake-ups per second, only while a dashboard watches.
const LOOP_RESOLUTION_MS = 20

export interface StatsSamplerOptions {
  hub: Hub
  /** Sample period, ms. @default 1000 */
  intervalMs?: number
  /** Frames kept for a page that opens (chart backfill). @default 300 (5 minutes at 1/s). */
  keepFrames?: number
  /** Topics listed per frame, largest first. @default 100 */
  topicLimit?: number
  /** Called with every frame. */
  onFrame: (frame: StatsFrame) => void
  /** Monotonic ms, for rates. @default performance.now */
  now?: () => number
  /** Wall-clock ms, for frame times. @default Date.now */
  wallClock?: () => number
}

const ZERO_STATES: Record<ConnectionState, number> = { open: 0, replaying: 0, closing: 0, closed: 0 }

export class StatsSampler {
  readonly #hub: Hub
  readonly #intervalMs: number
  readonly #keepFrames: number
  readonly #topicLimit: number
  readonly #onFrame: (frame: StatsFrame) => void
  readonly #now: () => number
  readonly #wallClock: () => number
  readonly #frames: StatsFrame[] = []
  #watchers = 0
  #timer: NodeJS.Timeout | undefined
  #loop: ELDHistogram | undefined
  #previous: { stats: HubStats; at: number } | undefined

  constructor(options: StatsSamplerOptions) {
    this.#hub = options.hub
    this.#intervalMs = options.intervalMs ?? 1000
    this.#keepFrames = options.keepFrames ?? 300
    this.#topicLimit = options.topicLimit ?? 100
    this.#onFrame = options.onFrame
    this.#now = options.now ?? (() => performance.now())
    this.#wallClock = options.wallClock ?? Date.now
  }

  /** True while the timer runs. */
  get running(): boolean {
    return this.#timer !== undefined
  }

  /** A dashboard started watching; the first one starts the timer. */
  retain(): void {
    this.#watchers++
    if (this.#timer === undefined) this.#start()
  }

  /** A dashboard stopped watching; the last one stops the timer. */
  release(): void {
    this.#watchers = Math.max(0, this.#watchers - 1)
    if (this.#watchers === 0) this.stop()
  }

  /** Recent frames, oldest first (for a page that just opened). */
  recent(): readonly StatsFrame[] {
    return this.#frames
  }

  /**
   * A frame of the state now, without moving the rate baseline: rates are those of the last sample
   * (zero before the first). For `GET /dashboard/api/stats`.
   */
  snapshot(): StatsFrame {
    const last = this.#frames.at(-1)
    const stats = this.#hub.stats()
    const frame = this.#frame(stats, last?.intervalSeconds ?? 0)
    if (last !== undefined) {
      frame.rates = last.rates
      frame.closesPerSecond = last.closesPerSecond
      frame.eventLoop = last.eventLoop
    }
    return frame
  }

  /** Stops the timer and the event-loop monitor (the hub is closing, or nobody watches). */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    this.#loop?.disable()
    this.#loop = undefined
    this.#previous = undefined
  }

  #start(): void {
    this.#loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
    this.#loop.enable()
    this.#previous = { stats: this.#hub.stats(), at: this.#now() }
    this.#timer = setInterval(() => this.tick(), this.#intervalMs)
    // The dashboard must never keep a hub process alive on its own.
    this.#timer.unref()
  }

  /** Takes one sample and emits its frame. Called by the timer; public for tests. */
  tick(): StatsFrame {
    const at = this.#now()
    const stats = this.#hub.stats()
    const previous = this.#previous ?? { stats, at }
    const seconds = Math.max((at - previous.at) / MS_PER_S, 1e-3)
    const frame = this.#frame(stats, seconds)
    const before = previous.stats
    const rate = (now: number, then: number): number => Math.max(0, now - then) / seconds
    const closedNow = sumValues(stats.closed)
    const closedBefore = sumValues(before.closed)
    frame.rates = {
      connects: rate(stats.opened, before.opened),
      disconnects: rate(closedNow, closedBefore),
      rejects: rate(sumValues(stats.rejected), sumValues(before.rejected)),
      published: rate(stats.published, before.published),
      delivered: rate(stats.delivered, before.delivered),
      bytes: rate(stats.bytesSent, before.bytesSent),
      heartbeats: rate(stats.heartbeats, before.heartbeats),
      replayed: rate(stats.replayed, before.replayed),
      resets: rate(stats.resets, before.resets),
    }
    const closes: Partial<Record<CloseReason, number>> = {}
    for (const reason of Object.keys(stats.closed) as CloseReason[]) {
      const perSecond = rate(stats.closed[reason], before.closed[reason] ?? 0)
      if (perSecond > 0) closes[reason] = perSecond
    }
    frame.closesPerSecond = closes
    if (this.#loop !== undefined) {
      // The histogram records whole timer periods (an idle loop reads ~LOOP_RESOLUTION_MS): the lag is
      // what lies beyond the period.
      const lag = (ns: number): number => Math.max(0, ns / NS_PER_MS - LOOP_RESOLUTION_MS)
      frame.eventLoop = {
        p50Ms: lag(this.#loop.percentile(50)),
        p99Ms: lag(this.#loop.percentile(99)),
        maxMs: lag(this.#loop.max),
      }
      this.#loop.reset()
    }
    this.#previous = { stats, at }
    this.#frames.push(frame)
    if (this.#frames.length > this.#keepFrames) this.#frames.shift()
    this.#onFrame(frame)
    return frame
  }

  #frame(stats: HubStats, seconds: number): StatsFrame {
    const states = { ...ZERO_STATES }
    let bufferedBytes = 0
    let bufferingStreams = 0
    // One pass over the registry per sample (not per dashboard, not per event).
    for (const connection of this.#hub.connections()) {
      states[connection.state]++
      bufferedBytes += connection.bufferedBytes
      if (connection.bufferedBytes > 0) bufferingStreams++
    }
    const counts = this.#hub.topicCounts()
    const topics = [...counts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, this.#topicLimit)
      .map(([topic, subscribers]) => ({ topic, subscribers }))
    const memory = process.memoryUsage()
    return {
      time: this.#wallClock(),
      intervalSeconds: seconds,
      uptimeSeconds: process.uptime(),
      connections: stats.connections,
      states,
      bufferedBytes,
      bufferingStreams,
      watchers: this.#watchers,
      rates: {
        connects: 0,
        disconnects: 0,
        rejects: 0,
        published: 0,
        delivered: 0,
        bytes: 0,
        heartbeats: 0,
        replayed: 0,
        resets: 0,
      },
      totals: {
        opened: stats.opened,
        closed: { ...stats.closed },
        rejected: { ...stats.rejected },
        published: stats.published,
        delivered: stats.delivered,
        bytesSent: stats.bytesSent,
        heartbeats: stats.heartbeats,
        replayed: stats.replayed,
        resets: stats.resets,
        historyEvents: stats.historyEvents,
      },
      closesPerSecond: {},
      eventLoop: { p50Ms: 0, p99Ms: 0, maxMs: 0 },
      memory: { heapUsedBytes: memory.heapUsed, heapTotalBytes: memory.heapTotal, rssBytes: memory.rss },
      topics,
      topicCount: counts.size,
    }
  }
}

function sumValues(record: Readonly<Record<string, number>>): number {
  let sum = 0
  for (const value of Object.values(record)) sum += value
  return sum
}
