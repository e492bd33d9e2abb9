/**
 * Prometheus metrics (docs/design.md §6), prefix `lifeline_`. Counters and gauges are read from
 * `hub.stats()` when scraped, so nothing is counted per event here; the publish-to-write histogram is
 * fed by `hub.onPublishToWrite` (once per publish). Plus prom-client's default process metrics.
 * One Registry per app, so several hubs can live in one process (tests).
 */

import type { Hub, HubStats } from 'lifeline-sse/server'
import { CLOSE_REASONS, REJECT_REASONS } from 'lifeline-sse/server'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** Latency buckets in seconds: sub-millisecond fan-out up to multi-second stalls. */
const PUBLISH_TO_WRITE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

export interface Metrics {
  readonly registry: Registry
  /** Prometheus text exposition. */
  render(): Promise<string>
  readonly contentType: string
  /** Counts a publish the hub could not store (`backend_unavailable`) or failed on (`error`). */
  publishError(reason: 'backend_unavailable' | 'error'): void
  close(): void
}

/** The configured stream limits, exported as gauges so alerts can compute "near the limit" ratios. */
export interface MetricLimits {
  /** `--max-connections`; 0 = off. */
  maxConnections: number
  /** `--max-connections-per-ip`; 0 = off. */
  maxConnectionsPerIp: number
}

export function createMetrics(hub: Hub, limits: MetricLimits): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  // One stats() snapshot per scrape, shared by every collector of that scrape.
  let snapshot: HubStats | undefined
  const stats = (): HubStats => (snapshot ??= hub.stats())

  const counter = (name: string, help: string, read: (s: HubStats) => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset()
        this.inc(read(stats()))
      },
    })
  }
  new Gauge({
    name: 'lifeline_connections',
    help: 'Open SSE streams now.',
    registers: [registry],
    collect() {
      this.set(stats().connections)
    },
  })
  // Constant per process: alerts divide by them (lifeline_connections / lifeline_max_connections).
  new Gauge({
    name: 'lifeline_max_connections',
    help: 'Configured limit of open SSE streams (--max-connections); 0 = no limit.',
    registers: [registry],
    // --workers: one scrape aggregates every worker (workers/peers.ts); a limit is the hub's, not a sum.
    aggregator: 'first',
  }).set(limits.maxConnections)
  new Gauge({
    name: 'lifeline_max_connections_per_ip',
    help: 'Configured limit of open SSE streams per client address (--max-connections-per-ip); 0 = no limit.',
    registers: [registry],
    aggregator: 'first',
  }).set(limits.maxConnectionsPerIp)
  new Gauge({
    name: 'lifeline_history_events',
    help: 'Events held in history now.',
    registers: [registry],
    // Workers share one history: each reports the same count.
    aggregator: 'max',
    collect() {
      this.set(stats().historyEvents)
    },
  })
  counter('lifeline_connections_opened_total', 'SSE streams opened.', (s) => s.opened)
  new Counter({
    name: 'lifeline_connections_closed_total',
    help: 'SSE streams closed, by reason.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset()
      const closed = stats().closed
      for (const reason of CLOSE_REASONS) this.inc({ reason }, closed[reason] ?? 0)
    },
  })
  new Counter({
    name: 'lifeline_connections_rejected_total',
    help: 'SSE streams refused, by reason.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset()
      const rejected = stats().rejected
      for (const reason of REJECT_REASONS) this.inc({ reason }, rejected[reason] ?? 0)
    },
  })
  // Readiness as a number, so alerts see what /readyz says (draining, cluster backend unreachable).
  new Gauge({
    name: 'lifeline_ready',
    help: '1 while the hub is ready (GET /readyz answers 200), else 0.',
    registers: [registry],
    // Workers: ready only when every worker is.
    aggregator: 'min',
    collect() {
      this.set(hub.ready() ? 1 : 0)
    },
  })
  const publishErrors = new Counter({
    name: 'lifeline_publish_errors_total',
    help: 'Publishes that failed on the hub side (not client errors), by reason.',
    labelNames: ['reason'],
    registers: [registry],
  })
  // Both series exist from the start (0), so rate() and alerts see them before the first failure.
  publishErrors.inc({ reason: 'backend_unavailable' }, 0)
  publishErrors.inc({ reason: 'error' }, 0)
  counter('lifeline_events_published_total', 'Events published.', (s) => s.published)
  counter(
    'lifeline_events_delivered_total',
    'Events written to streams (one per subscriber).',
    (s) => s.delivered,
  )
  counter('lifeline_bytes_sent_total', 'Bytes written to streams.', (s) => s.bytesSent)
  counter('lifeline_heartbeats_sent_total', 'Heartbeat comments written.', (s) => s.heartbeats)
  counter('lifeline_replayed_events_total', 'Events replayed to resuming clients.', (s) => s.replayed)
  counter('lifeline_resets_total', 'lifeline:reset events sent.', (s) => s.resets)
  const latency = new Histogram({
    name: 'lifeline_publish_to_write_seconds',
    help: 'Time from publish to the first socket write of that event.',
    buckets: PUBLISH_TO_WRITE_BUCKETS,
    registers: [registry],
  })
  const off = hub.onPublishToWrite((seconds) => latency.observe(seconds))
  return {
    registry,
    contentType: registry.contentType,
    publishError(reason) {
      publishErrors.inc({ reason })
    },
    async render() {
      snapshot = undefined
      try {
        return await registry.metrics()
      } finally {
        snapshot = undefined
      }
    },
    close() {
      off()
      registry.clear()
    },
  }
}
