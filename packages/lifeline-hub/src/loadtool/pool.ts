/**
 * The streams one worker holds: opens them through one connect queue (bounded in-flight connects,
 * also used for reconnects), parses each with the protocol parser, checks every bench payload for
 * loss, duplicates and order, and records latency and connect time. One interval drives the queue and
 * the timeouts of all streams: no timer per stream.
 */

import type { ParsedEvent } from 'lifeline-sse/protocol'
import { EventStreamParser, RESET_EVENT } from 'lifeline-sse/protocol'
import { Histogram } from './histogram.ts'
import { type Parsed, parsePayload, sharedNow } from './payload.ts'
import { RawSseStream } from './raw-sse.ts'

/** How often the connect queue and the timeouts are swept, in ms. */
const SWEEP_MS = 10
/** Reconnection delays are bucketed to this many ms (the sweep's granularity). */
const WHEEL_MS = SWEEP_MS
/** `retry:` jitter applied by the bench's clients, as a fraction (+-). */
const RETRY_JITTER = 0.2

export type PoolConfig = {
  host: string
  port: number
  hostHeader: string
  /** Path and query of the stream URL, without the topic parameter when `appendTopic`. */
  path: string
  appendTopic: boolean
  topics: string[]
  /** Global index of this worker's first stream (stream i subscribes to topics[i % topics.length]). */
  first: number
  count: number
  localAddresses: string[]
  /** Extra request header lines, each ending in CRLF. */
  headers: string
  connectConcurrency: number
  connectTimeoutMs: number
  /** Reconnect after a stream ends. */
  reconnect: boolean
  /** Delay before reconnecting when the server sent no `retry:`, in ms. */
  defaultRetryMs: number
  /** Reconnect when no byte arrived for this long, in ms; 0 disables. */
  heartbeatTimeoutMs: number
}

export type PoolCounters = {
  /** Streams open now (response head 200 received). */
  open: number
  connecting: number
  waiting: number
  /** Successful opens, first ones and reconnects. */
  opens: number
  reconnects: number
  /** Streams that opened at least once. */
  everOpen: number
  /** Connection refused by the OS (nothing listening, backlog full). */
  refused: number
  /** Non-200 answers. */
  rejected: number
  /** Other socket errors (reset, timeout...). */
  errors: number
  /** Streams ended by the server (cleanly or not). */
  ended: number
  connectTimeouts: number
  heartbeatTimeouts: number
  events: number
  bytes: number
  foreign: number
  lost: number
  duplicates: number
  /** Events missing at the end on streams that were reconnecting then (they may resume them). */
  unsettled: number
  /** Events that arrived after a higher seq of their topic (not an error: see publisher.ts). */
  reordered: number
  resets: number
}

export function emptyCounters(): PoolCounters {
  return {
    open: 0,
    connecting: 0,
    waiting: 0,
    opens: 0,
    reconnects: 0,
    everOpen: 0,
    refused: 0,
    rejected: 0,
    errors: 0,
    ended: 0,
    connectTimeouts: 0,
    heartbeatTimeouts: 0,
    events: 0,
    bytes: 0,
    foreign: 0,
    lost: 0,
    duplicates: 0,
    unsettled: 0,
    reordered: 0,
    resets: 0,
  }
}

class Stream {
  readonly index: number
  readonly topic: string
  readonly localAddress: string | undefined
  parser: EventStreamParser
  raw: RawSseStream | undefined
  startedAt = 0
  lastByteAt = 0
  retryMs = -1
  /**
   * Every seq of this topic up to `contig` was received; 0: expect 1; -1: unknown (the next one
   * received is the baseline).
   */
  contig = -1
  /** Seqs above contig+1 received early (publishers on several sockets may swap neighbours). */
  ahead: Set<number> | undefined
  /** Highest seq received. */
  highest = 0
  openedOnce = false
  isOpen = false

  constructor(
    index: number,
    topic: string,
    localAddress: string | undefined,
    onEvent: (e: ParsedEvent) => void,
  ) {
    this.index = index
    this.topic = topic
    this.localAddress = localAddress
    this.parser = new EventStreamParser({
      onEvent,
      onRetry: (ms) => {
        this.retryMs = ms
      },
    })
  }
}

export class Pool {
  readonly counters = emptyCounters()
  readonly latency = new Histogram()
  readonly connectTime = new Histogram()
  #config: PoolConfig
  #streams: Stream[] = []
  #ready: Stream[] = []
  #readyHead = 0
  #wheel = new Map<number, Stream[]>()
  #connecting = new Set<Stream>()
  #timer: NodeJS.Timeout
  #lastTimeoutSweep = 0
  #closing = false
  #parsed: Parsed = { seq: 0, sentAt: 0 }

  constructor(config: PoolConfig) {
    this.#config = config
    for (let i = 0; i < config.count; i++) {
      const index = config.first + i
      const topic = config.topics[index % config.topics.length] as string
      const local =
        config.localAddresses.length > 0 ? config.localAddresses[i % config.localAddresses.length] : undefined
      const stream: Stream = new Stream(index, topic, local, (e) => this.#event(stream, e))
      this.#streams.push(stream)
      this.#ready.push(stream)
    }
    this.counters.waiting = config.count
    this.#timer = setInterval(() => this.#sweep(), SWEEP_MS)
  }

  /** From now on, every open stream expects its topic's events from seq 1 (publishing starts). */
  expectFromStart(): void {
    for (const s of this.#streams) if (s.isOpen && s.contig === -1) s.contig = 0
  }

  /**
   * Counts what each stream missed at the end (finalSeq per topic is the publisher's last seq). A
   * stream that is between two connections at that moment may still get its missing events by
   * resuming: those count as `unsettled`, not lost.
   */
  tailLosses(finalSeq: Record<string, number>): number {
    let lost = 0
    let unsettled = 0
    for (const s of this.#streams) {
      const final = finalSeq[s.topic] ?? 0
      if (s.contig < 0 || final <= s.contig) continue
      const missing = final - s.contig - (s.ahead?.size ?? 0)
      if (s.isOpen) lost += missing
      else unsettled += missing
    }
    this.counters.lost += lost
    this.counters.unsettled += unsettled
    return lost
  }

  close(): void {
    this.#closing = true
    clearInterval(this.#timer)
    for (const s of this.#streams) s.raw?.close()
  }

  #sweep(): void {
    const now = performance.now()
    const tick = Math.floor(now / WHEEL_MS)
    for (const [t, list] of this.#wheel) {
      if (t > tick) continue
      this.#wheel.delete(t)
      for (const s of list) this.#ready.push(s)
    }
    const c = this.#config
    while (
      this.#readyHead < this.#ready.length &&
      this.#connecting.size < c.connectConcurrency &&
      !this.#closing
    ) {
      const s = this.#ready[this.#readyHead++] as Stream
      this.#open(s, now)
    }
    if (this.#readyHead > 1024 && this.#readyHead * 2 > this.#ready.length) {
      this.#ready = this.#ready.slice(this.#readyHead)
      this.#readyHead = 0
    }
    if (now - this.#lastTimeoutSweep >= 250) {
      this.#lastTimeoutSweep = now
      for (const s of this.#connecting) {
        if (now - s.startedAt > c.connectTimeoutMs) {
          this.counters.connectTimeouts++
          s.raw?.close()
        }
      }
      if (c.heartbeatTimeoutMs > 0) {
        for (const s of this.#streams) {
          if (s.isOpen && now - s.lastByteAt > c.heartbeatTimeoutMs) {
            this.counters.heartbeatTimeouts++
            s.raw?.close()
          }
        }
      }
    }
    this.counters.waiting = this.#ready.length - this.#readyHead + this.#wheelSize()
  }

  #wheelSize(): number {
    let n = 0
    for (const list of this.#wheel.values()) n += list.length
    return n
  }

  #open(s: Stream, now: number): void {
    const c = this.#config
    s.startedAt = now
    s.parser.reset()
    this.#connecting.add(s)
    this.counters.connecting = this.#connecting.size
    const path = c.appendTopic
      ? `${c.path}${c.path.includes('?') ? '&' : '?'}topic=${encodeURIComponent(s.topic)}`
      : c.path
    const lastId = s.parser.lastEventId
    const headers = lastId === '' ? c.headers : `${c.headers}Last-Event-ID: ${lastId}\r\n`
    s.raw = new RawSseStream(
      { host: c.host, port: c.port, hostHeader: c.hostHeader, path, localAddress: s.localAddress, headers },
      {
        onHead: (status) => {
          this.#connecting.delete(s)
          this.counters.connecting = this.#connecting.size
          if (status !== 200) {
            this.counters.rejected++
            s.raw?.close()
            return
          }
          const t = performance.now()
          this.connectTime.record((t - s.startedAt) * 1000)
          s.lastByteAt = t
          s.isOpen = true
          this.counters.open++
          this.counters.opens++
          if (s.openedOnce) this.counters.reconnects++
          else {
            s.openedOnce = true
            this.counters.everOpen++
          }
        },
        onBody: (chunk) => {
          s.lastByteAt = performance.now()
          this.counters.bytes += chunk.length
          s.parser.push(chunk)
        },
        onClose: (error, endedCleanly) => {
          if (this.#connecting.delete(s)) {
            this.counters.connecting = this.#connecting.size
            if (error?.code === 'ECONNREFUSED') this.counters.refused++
            else this.counters.errors++
          } else if (s.isOpen) {
            s.isOpen = false
            this.counters.open--
            if (error && !endedCleanly) this.counters.errors++
            else this.counters.ended++
          }
          s.raw = undefined
          if (this.#closing || !c.reconnect) return
          this.#schedule(s)
        },
      },
    )
  }

  /** Waits the server's `retry:` (+-20% jitter), or the default delay, then joins the connect queue. */
  #schedule(s: Stream): void {
    const base = s.retryMs >= 0 ? s.retryMs : this.#config.defaultRetryMs
    const delay = base * (1 - RETRY_JITTER + 2 * RETRY_JITTER * Math.random())
    const tick = Math.floor((performance.now() + delay) / WHEEL_MS) + 1
    let list = this.#wheel.get(tick)
    if (!list) this.#wheel.set(tick, (list = []))
    list.push(s)
  }

  #event(s: Stream, e: ParsedEvent): void {
    const counters = this.counters
    counters.events++
    if (e.type === RESET_EVENT) {
      // The server says it cannot resume: what was missed is explicit, not a silent loss.
      counters.resets++
      s.contig = -1
      s.ahead = undefined
      return
    }
    const p = this.#parsed
    if (!parsePayload(e.data, p)) {
      counters.foreign++
      return
    }
    this.latency.record((sharedNow() - p.sentAt) * 1000)
    const seq = p.seq
    if (s.contig === -1) {
      s.contig = seq
      s.highest = seq
      return
    }
    if (seq <= s.contig || s.ahead?.has(seq)) {
      counters.duplicates++
      return
    }
    if (seq < s.highest) counters.reordered++
    else s.highest = seq
    if (seq === s.contig + 1) {
      s.contig = seq
      const ahead = s.ahead
      if (ahead && ahead.size > 0) {
        while (ahead.delete(s.contig + 1)) s.contig++
      }
    } else {
      s.ahead ??= new Set()
      s.ahead.add(seq)
    }
  }
}
