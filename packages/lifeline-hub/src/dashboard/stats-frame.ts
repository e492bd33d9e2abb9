/**
 * What the dashboard's stats stream carries, once per second, as the JSON `data` of an `event: stats`.
 * Aggregates only: the frame's size does not grow with the number of streams (the connection table is
 * paged through `GET /dashboard/api/connections`). Shared by the server sampler and the page (types only).
 */
import type { CloseReason, ConnectionInfo, ConnectionState, HubStats } from 'lifeline-sse/server'

/** The reserved topic the dashboard's own stream subscribes to. `lifeline:` names are reserved (protocol/reserved.ts). */
export const STATS_TOPIC = 'lifeline:dashboard'

/** SSE event type of a stats frame. */
export const STATS_EVENT = 'stats'

/** Per-second rates, computed on the server from the hub's cumulative counters between two samples. */
export interface StatsRates {
  connects: number
  disconnects: number
  rejects: number
  published: number
  delivered: number
  bytes: number
  heartbeats: number
  replayed: number
  resets: number
}

export interface StatsFrame {
  /** Wall-clock ms of the sample. */
  time: number
  /** Seconds the sample covers (about 1). */
  intervalSeconds: number
  /** Seconds since the hub process started. */
  uptimeSeconds: number
  /** Open streams now. */
  connections: number
  /** Open streams by state now. */
  states: Record<ConnectionState, number>
  /** Bytes queued to all clients and not yet taken by their sockets. */
  bufferedBytes: number
  /** Streams with bytes queued now (slow or busy consumers). */
  bufferingStreams: number
  /** Dashboards watching now (stats streams open on this hub). */
  watchers: number
  rates: StatsRates
  /** Cumulative since the hub started: the hub's own counters (open streams are `streams` above). */
  totals: Omit<HubStats, 'connections'>
  /** Closes per second in this sample, by reason (only reasons that happened). */
  closesPerSecond: Partial<Record<CloseReason, number>>
  /** Event-loop lag over the sample, ms: timer delay beyond its 20 ms period (perf_hooks.monitorEventLoopDelay). */
  eventLoop: { p50Ms: number; p99Ms: number; maxMs: number }
  memory: { heapUsedBytes: number; heapTotalBytes: number; rssBytes: number }
  /** Topic patterns by subscriber count, largest first, at most `topicLimit` of them. */
  topics: Array<{ topic: string; subscribers: number }>
  /** Number of distinct topic patterns subscribed now (the list above may be cut). */
  topicCount: number
}

/** One row of `GET /dashboard/api/connections`. */
export type ConnectionRow = ConnectionInfo

export interface ConnectionPage {
  /** Wall-clock ms on the server when the page was cut (ages are relative to it). */
  serverTime: number
  /** Streams matching the filter. */
  total: number
  offset: number
  limit: number
  rows: ConnectionRow[]
}

export const CONNECTION_SORT_KEYS = [
  'id',
  'address',
  'userAgent',
  'topics',
  'age',
  'lastWrite',
  'bytes',
  'events',
  'buffered',
  'state',
] as const

export type ConnectionSortKey = (typeof CONNECTION_SORT_KEYS)[number]
