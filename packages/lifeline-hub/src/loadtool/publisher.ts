/**
 * Publishes bench payloads at a steady rate, round-robin over the topics, each topic counting its own
 * seq from 1. Either over HTTP (`POST <url>` with `{"topic", "data"}`, the hub's and the peers'
 * /publish), or into a long-running command that reads one JSON line `{"topic": "...", "data": "..."}`
 * per event on stdin (`--publish-command`). One timer paces it.
 *
 * HTTP goes through LANES keep-alive sockets, each one request at a time, all pulling from one queue
 * of due events. The seq and the timestamp are taken when a request is actually written (not when it
 * was queued), so latency measures the server, not this queue. Two lanes may deliver consecutive seqs
 * of a topic to the server in swapped order; receivers therefore check completeness and duplicates
 * with a reorder window (pool.ts), and count reorders apart. When more than BACKLOG events are due
 * and unsent, new ones are skipped (counted as `skipped`): the report shows the rate really published.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { Agent, type RequestOptions, request } from 'node:http'
import { Histogram } from './histogram.ts'
import { formatPayload, makePadding, sharedNow } from './payload.ts'

/** Pacing tick, in ms: each tick sends what is due since the start (no drift from timer lateness). */
const TICK_MS = 5
/** Keep-alive sockets to the publish endpoint. */
const LANES = 16
/** Events that may wait for a free lane before new ones are skipped. */
const BACKLOG = 1024

export type PublisherOptions = {
  topics: string[]
  /** Events per second over all topics. */
  rate: number
  /** Payload size in bytes (about). */
  payloadBytes: number
  /** `http://host:port/publish`, or undefined with `command`. */
  url?: string
  command?: string
  /** Extra request headers (e.g. Authorization). */
  headers: Record<string, string>
}

export type PublisherStats = {
  sent: number
  acknowledged: number
  failed: number
  skipped: number
  /** POST round trip, microseconds. */
  ackTime: Histogram
  statuses: Record<string, number>
}

type Lane = { agent: Agent; busy: boolean }

export class Publisher {
  readonly stats: PublisherStats = {
    sent: 0,
    acknowledged: 0,
    failed: 0,
    skipped: 0,
    ackTime: new Histogram(),
    statuses: {},
  }
  /** The last seq sent per topic. */
  readonly seq: Record<string, number> = {}
  #options: PublisherOptions
  #lanes: Lane[] = []
  #timer: NodeJS.Timeout | undefined
  #child: ChildProcess | undefined
  #due = 0
  /** Due events not yet sent. */
  #waiting = 0
  #next = 0
  #padding: string
  #idle: (() => void) | undefined
  #stopped: Promise<void> | undefined
  #url: URL | undefined

  constructor(options: PublisherOptions) {
    this.#options = options
    this.#padding = makePadding(options.payloadBytes)
    this.#url = options.url ? new URL(options.url) : undefined
    for (const t of options.topics) this.seq[t] = 0
    for (let i = 0; i < LANES; i++) {
      this.#lanes.push({ agent: new Agent({ keepAlive: true, maxSockets: 1 }), busy: false })
    }
  }

  /**
   * Opens every lane with one publish to `topic` (which no stream subscribes to), so the timed events
   * do not pay for TCP handshakes and the server's first-request costs.
   */
  async warmUp(topic: string): Promise<void> {
    const url = this.#url
    if (!url || this.#options.rate <= 0) return
    const body = JSON.stringify({ topic, data: 'warm-up' })
    await Promise.all(
      this.#lanes.map(
        (lane) =>
          new Promise<void>((resolve) => {
            const req = request(this.#postOptions(url, lane, body), (res) => {
              res.resume()
              res.once('end', resolve)
              res.once('error', resolve)
            })
            req.once('error', () => resolve())
            req.end(body)
          }),
      ),
    )
  }

  start(): void {
    const o = this.#options
    if (o.rate <= 0) return
    if (o.command) {
      this.#child = spawn(o.command, { shell: true, stdio: ['pipe', 'ignore', 'inherit'] })
      this.#child.stdin?.on('error', () => {
        this.stats.failed++
      })
    }
    const started = performance.now()
    this.#timer = setInterval(() => {
      const due = Math.floor(((performance.now() - started) / 1000) * o.rate)
      while (this.#due < due) {
        this.#due++
        this.#enqueue()
      }
    }, TICK_MS)
  }

  /** Stops publishing and waits for the answers still in flight (what is queued is dropped). */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop()
    return this.#stopped
  }

  async #stop(): Promise<void> {
    clearInterval(this.#timer)
    this.stats.skipped += this.#waiting
    this.#waiting = 0
    if (this.#lanes.some((l) => l.busy)) await new Promise<void>((resolve) => (this.#idle = resolve))
    const child = this.#child
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.stdin?.end()
      const timer = setTimeout(() => child.kill('SIGTERM'), 5000)
      await exited
      clearTimeout(timer)
    }
    for (const lane of this.#lanes) lane.agent.destroy()
  }

  #enqueue(): void {
    if (this.#child) {
      this.#write()
      return
    }
    if (this.#waiting >= BACKLOG) {
      this.stats.skipped++
      return
    }
    this.#waiting++
    const lane = this.#lanes.find((l) => !l.busy)
    if (lane) this.#drain(lane)
  }

  #payload(): { topic: string; data: string; sentAt: number } {
    const topics = this.#options.topics
    const topic = topics[this.#next++ % topics.length] as string
    const seq = (this.seq[topic] ?? 0) + 1
    this.seq[topic] = seq
    const sentAt = sharedNow()
    this.stats.sent++
    return { topic, data: formatPayload(seq, sentAt, this.#padding), sentAt }
  }

  #write(): void {
    const { topic, data } = this.#payload()
    this.#child?.stdin?.write(`${JSON.stringify({ topic, data })}\n`)
    this.stats.acknowledged++
  }

  /** One JSON POST to the publish URL on the lane's keep-alive agent. */
  #postOptions(url: URL, lane: Lane, body: string): RequestOptions {
    return {
      host: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      method: 'POST',
      agent: lane.agent,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        ...this.#options.headers,
      },
    }
  }

  #drain(lane: Lane): void {
    if (this.#waiting === 0) {
      lane.busy = false
      if (this.#idle && !this.#lanes.some((l) => l.busy)) this.#idle()
      return
    }
    lane.busy = true
    this.#waiting--
    const { topic, data, sentAt } = this.#payload()
    const body = JSON.stringify({ topic, data })
    const url = this.#url as URL
    let finished = false
    const next = () => {
      if (finished) return
      finished = true
      this.#drain(lane)
    }
    const req = request(this.#postOptions(url, lane, body), (res) => {
      const key = String(res.statusCode)
      this.stats.statuses[key] = (this.stats.statuses[key] ?? 0) + 1
      if (res.statusCode === 200 || res.statusCode === 201) {
        this.stats.acknowledged++
        this.stats.ackTime.record((sharedNow() - sentAt) * 1000)
      } else this.stats.failed++
      res.resume()
      res.once('end', next)
      res.once('error', next)
    })
    req.once('error', () => {
      this.stats.failed++
      next()
    })
    req.end(body)
  }
}
