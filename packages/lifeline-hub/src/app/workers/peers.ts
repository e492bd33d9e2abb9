/**
 * A worker's side of "per hub, not per process" (`--workers`): what it asks the primary so that every
 * answer speaks for all workers.
 *
 * - `view`: the Hub the routes and the dashboard see. Streams open and publishes go to this worker's
 *   own hub; `stats()` and `topicCounts()` add the other workers' summaries (pushed once a second and
 *   relayed once a second, so they lag by up to two seconds); `connections()` adds the other
 *   workers' streams as last gathered (refreshed in the background, at most once a second, while
 *   someone asks: the dashboard's sampler).
 * - `connections()`: every worker's streams now (one gather through the primary): `/api/connections`.
 * - `metrics.render()`: one scrape for every worker: each worker's registry, aggregated with
 *   prom-client's cluster rules (counters and histograms summed; gauges by their `aggregator`).
 * - `admission`: a lease from the primary before a stream opens, when a stream limit is set.
 */

import type {
  ConnectionInfo,
  History,
  Hub,
  HubStats,
  Rejection,
  StreamHandle,
  StreamStore,
} from 'lifeline-sse/server'
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client'
import type { Logger } from '../logging.ts'
import type { Metrics } from '../metrics.ts'
import type { Channel } from './channel.ts'
import type { ConnectionsPart, GatherKind, WorkerSummary } from './control.ts'

/** Topics a worker reports per summary, largest first (the dashboard lists the top 100). */
const SUMMARY_TOPICS = 1_000
const SUMMARY_PERIOD_MS = 1_000
/** A peer listing older than this is refreshed when `connections()` is called. */
const LISTING_MAX_AGE_MS = 1_000

/** A stream's admission across workers: either the refusal to answer, or a lease to hold. */
export interface Lease {
  readonly rejection?: Rejection | undefined
  /** Keeps the lease while `stream` is open (returns it at once when no stream opened). */
  holdWhile(stream: StreamHandle | undefined): void
}

export interface StreamAdmission {
  acquire(remoteAddress: string): Promise<Lease> | Lease
}

/** What `createApp` takes in a worker (worker.ts). */
export interface WorkerDeps {
  readonly channel: Channel
  /** 1..N. */
  readonly index: number
  /** The primary's sequencer; undefined with --redis (the app opens its own cluster history). */
  readonly history: History | undefined
  /** The primary's stream store (with `history`); undefined: the app builds its own. */
  readonly streams: StreamStore | undefined
}

/** What the routes get in `AppContext.workers`. */
export interface WorkersContext {
  readonly admission: StreamAdmission
  /** Every worker's open streams. */
  connections(): Promise<ConnectionInfo[]>
}

const FREE: Lease = { holdWhile() {} }

export class Peers implements WorkersContext {
  readonly index: number
  readonly admission: StreamAdmission
  readonly #channel: Channel
  readonly #hub: Hub
  readonly #logger: Logger
  readonly #pending = new Map<number, (reply: unknown) => void>()
  readonly #rejected: Partial<Record<Rejection['reason'], number>> = {}
  readonly #timer: NodeJS.Timeout
  #nextRequest = 1
  #localMetrics: Metrics | undefined
  #summaries: ReadonlyArray<readonly [number, WorkerSummary]> = []
  #listing: ConnectionInfo[] = []
  #listingAt = 0
  #listingBusy = false

  constructor(deps: WorkerDeps, hub: Hub, limited: boolean, logger: Logger) {
    const { channel, index } = deps
    this.#channel = channel
    this.#hub = hub
    this.index = index
    this.#logger = logger
    this.admission = limited ? { acquire: (address) => this.#acquire(address) } : { acquire: () => FREE }
    channel.onControl((m) => {
      switch (m.t) {
        case 'acquired':
          this.#answer(m.r, m.rejection)
          return
        case 'gathered':
          this.#answer(m.r, m.parts)
          return
        case 'collect':
          this.#collect(m.what).then(
            (part) => channel.send({ t: 'collected', r: m.r, part }),
            () => channel.send({ t: 'collected', r: m.r, part: undefined }),
          )
          return
        case 'peers':
          this.#summaries = m.summaries.filter(([i]) => i !== index)
          return
        default:
          return
      }
    })
    this.#timer = setInterval(
      () => channel.send({ t: 'summary', summary: this.#summary() }),
      SUMMARY_PERIOD_MS,
    )
    this.#timer.unref()
  }

  #local: Hub | undefined

  /** This worker's hub as its metrics count it: the core's stats plus the refusals admitted here. */
  local(): Hub {
    return (this.#local ??= withStats(this.#hub, () => {
      const s = this.#hub.stats()
      const rejected = { ...s.rejected }
      for (const [reason, n] of Object.entries(this.#rejected)) rejected[reason as Rejection['reason']] += n
      return { ...s, rejected }
    }))
  }

  /** The Hub every route and the dashboard see: this worker's streams, every worker's totals. */
  view(): Hub {
    const local = this.local()
    const peers = this
    return withStats(
      local,
      () => {
        let s = local.stats()
        for (const [, summary] of peers.#summaries) s = addStats(s, summary.stats)
        return s
      },
      {
        topicCounts() {
          const counts = local.topicCounts()
          for (const [, summary] of peers.#summaries) {
            for (const [topic, n] of summary.topics) counts.set(topic, (counts.get(topic) ?? 0) + n)
          }
          return counts
        },
        connections() {
          peers.#refreshListing()
          return [...local.connections(), ...peers.#listing]
        },
        get size() {
          let n = local.size
          for (const [, summary] of peers.#summaries) n += summary.stats.connections
          return n
        },
      },
    )
  }

  /** Metrics whose `render` answers for every worker. */
  metrics(local: Metrics): Metrics {
    this.#localMetrics = local
    return {
      registry: local.registry,
      contentType: local.contentType,
      publishError: (reason) => local.publishError(reason),
      close: () => local.close(),
      render: async () => {
        const parts = (await this.#gather('metrics')).filter(
          (p): p is MetricObjectWithValues<MetricValue<string>>[] => Array.isArray(p),
        )
        return AggregatorRegistry.aggregate(parts).metrics()
      },
    }
  }

  async connections(): Promise<ConnectionInfo[]> {
    const parts = await this.#gather('connections')
    return parts.flatMap((p) => (Array.isArray(p) ? (p as ConnectionsPart) : []))
  }

  close(): void {
    clearInterval(this.#timer)
    for (const answer of this.#pending.values()) answer(undefined)
    this.#pending.clear()
  }

  #summary(): WorkerSummary {
    const topics = [...this.#hub.topicCounts()].sort((a, b) => b[1] - a[1]).slice(0, SUMMARY_TOPICS)
    return { stats: this.local().stats(), topics }
  }

  async #collect(what: GatherKind): Promise<unknown> {
    if (what === 'connections') return this.#hub.connections()
    return this.#localMetrics?.registry.getMetricsAsJSON()
  }

  #request<T>(send: (r: number) => void): Promise<T | undefined> {
    const r = this.#nextRequest++
    return new Promise((resolve) => {
      this.#pending.set(r, resolve as (reply: unknown) => void)
      send(r)
    })
  }

  #answer(r: number, reply: unknown): void {
    const resolve = this.#pending.get(r)
    if (resolve === undefined) return
    this.#pending.delete(r)
    resolve(reply)
  }

  async #gather(what: GatherKind): Promise<readonly unknown[]> {
    const parts = await this.#request<readonly unknown[]>((r) => this.#channel.send({ t: 'gather', r, what }))
    return parts ?? []
  }

  async #acquire(address: string): Promise<Lease> {
    const rejection = await this.#request<Rejection>((r) => this.#channel.send({ t: 'acquire', r, address }))
    if (rejection !== undefined) {
      this.#rejected[rejection.reason] = (this.#rejected[rejection.reason] ?? 0) + 1
      this.#logger.warn({ reason: rejection.reason, address }, 'connection rejected')
      return { rejection, holdWhile() {} }
    }
    let held = true
    const release = () => {
      if (!held) return
      held = false
      this.#channel.send({ t: 'release', address })
    }
    return {
      holdWhile(stream) {
        if (stream === undefined || stream.signal.aborted) release()
        else stream.signal.addEventListener('abort', release, { once: true })
      },
    }
  }

  #refreshListing(): void {
    if (this.#listingBusy || Date.now() - this.#listingAt < LISTING_MAX_AGE_MS) return
    this.#listingBusy = true
    this.#gather('connections').then((parts) => {
      this.#listingBusy = false
      this.#listingAt = Date.now()
      const own = new Set(this.#hub.connections().map((c) => c.id))
      this.#listing = parts
        .flatMap((p) => (Array.isArray(p) ? (p as ConnectionsPart) : []))
        .filter((c) => !own.has(c.id))
    })
  }
}

/**
 * `hub` with other `stats` (and optionally other listing methods); every other member is `hub`'s own,
 * whatever the Hub interface grows (a proxy, not a hand-kept list of delegates).
 */
function withStats(
  hub: Hub,
  stats: () => HubStats,
  more: Partial<Pick<Hub, 'topicCounts' | 'connections' | 'size'>> = {},
): Hub {
  const overrides = Object.defineProperties({ stats } as object, Object.getOwnPropertyDescriptors(more))
  const bound = new Map<PropertyKey, unknown>()
  return new Proxy(hub, {
    get(target, key) {
      if (key in overrides) return Reflect.get(overrides, key)
      const value = Reflect.get(target, key, target)
      if (typeof value !== 'function') return value
      // Methods run on the hub itself (its private fields); bound once per name.
      let fn = bound.get(key)
      if (fn === undefined) bound.set(key, (fn = value.bind(target)))
      return fn
    },
  })
}

function addStats(a: HubStats, b: HubStats): HubStats {
  const closed = { ...a.closed }
  for (const k of Object.keys(closed) as (keyof HubStats['closed'])[]) closed[k] += b.closed[k] ?? 0
  const rejected = { ...a.rejected }
  for (const k of Object.keys(rejected) as (keyof HubStats['rejected'])[]) rejected[k] += b.rejected[k] ?? 0
  return {
    connections: a.connections + b.connections,
    opened: a.opened + b.opened,
    closed,
    rejected,
    published: a.published + b.published,
    delivered: a.delivered + b.delivered,
    bytesSent: a.bytesSent + b.bytesSent,
    heartbeats: a.heartbeats + b.heartbeats,
    replayed: a.replayed + b.replayed,
    resets: a.resets + b.resets,
    // One history for every worker: the same count, not a sum.
    historyEvents: Math.max(a.historyEvents, b.historyEvents),
  }
}
