/**
 * The public shape of `lifeline-sse/server`. Other parts (hub app, redis backend, bench, dashboard)
 * are written against these names; change them only together with their users.
 */
import type { History } from './history/history.ts'
import type { CloseReason, RejectReason } from './reasons.ts'
import type { StreamStore } from './streams/stream-store.ts'

export type { CloseReason, RejectReason }

/**
 * Where a stream is in its life (connection.ts moves it; `ConnectionInfo.state` shows it).
 *
 * ```
 * open ──beginReplay──▶ replaying ──endReplay──▶ open
 * open | replaying ──close(reason)──▶ closing ──sink ended / transport closed──▶ closed
 * open | replaying ──slow consumer (write_timeout, buffer_overflow): transport destroyed──▶ closed
 * open | replaying ──transport closed under it (client_closed, or write_timeout on ETIMEDOUT)──▶ closed
 * ```
 *
 * - `open`: live events are written as they are fanned out. Every stream starts here.
 * - `replaying`: the stream resumes from a Last-Event-ID; history is written paced by the socket while
 *   live events are held, then the held ones follow and the stream is `open` (the seam is exact).
 * - `closing`: the close reason is decided and counted once; the transport is ending cleanly (queued
 *   bytes and a final `retry:` hint drain first). Nothing more is written.
 * - `closed`: final. A later `close()` or transport callback does nothing.
 */
export type ConnectionState = 'open' | 'replaying' | 'closing' | 'closed'

export interface HubOptions {
  /** Write `: ping` after this many ms without any write. @default 15_000. 0 disables. */
  heartbeatMs?: number
  /** Longest ms queued bytes may wait to drain; past it: close `write_timeout`. @default 10_000. 0 disables. */
  writeTimeoutMs?: number
  /**
   * Bytes a connection may queue beyond the socket; past it: close `buffer_overflow`. A replay is paced
   * by the socket instead (one event beyond it at most), and holds at most this many bytes of live
   * events meanwhile (past it they are read back from history). @default 1 MiB.
   */
  maxBufferedBytes?: number
  /** Close a stream that carried no event for this long (heartbeats do not count). @default 0 (off). */
  idleTimeoutMs?: number
  /** Close a stream after this long, +-10% jitter. @default 0 (off). */
  maxLifetimeMs?: number
  /** `retry:` sent to clients, +-20% jitter per stream. @default 3_000. */
  retryMs?: number
  /** On close(): longest wait for in-flight writes. @default 10_000. */
  shutdownTimeoutMs?: number
  /** Global stream limit (503 + Retry-After). @default 0 (off). */
  maxConnections?: number
  /** Per-client-address stream limit (429 + Retry-After). @default 0 (off). */
  maxConnectionsPerIp?: number
  /** History store. @default an in-memory ring (see historySize / historyTtlMs / historyMaxBytes). */
  history?: History
  /** In-memory ring: events kept. @default 10_000. */
  historySize?: number
  /** In-memory ring: oldest age kept in ms. @default 3_600_000 (1 h). 0 = no age limit. */
  historyTtlMs?: number
  /** In-memory ring: total payload bytes kept. @default 64 MiB. */
  historyMaxBytes?: number
  /** Clock injection for tests: ms, monotonic. @default performance.now */
  now?: () => number
  /** Jitter source in [0, 1) for `retry:` and max lifetime. @default Math.random */
  random?: () => number
  /**
   * Finite streams (docs/streams.md): builds the stream store over the hub's history. With it, a
   * subscriber of one stream topic joins and resumes from the stream (whole for its lifetime).
   * @default none (every topic replays from the history ring)
   */
  streams?: ((history: History) => StreamStore) | undefined
}

/** A live snapshot of one stream, for the registry, `/api/connections` and the dashboard. */
export interface ConnectionInfo {
  readonly id: string
  readonly remoteAddress: string
  readonly userAgent: string
  readonly topics: readonly string[]
  /** Wall-clock ms. */
  readonly openedAt: number
  /** Wall-clock ms of the last byte written (event, heartbeat or retry). */
  readonly lastWriteAt: number
  readonly bytesSent: number
  readonly eventsSent: number
  /** Bytes queued and not yet taken by the socket. */
  readonly bufferedBytes: number
  readonly lastEventId: string | undefined
  readonly state: ConnectionState
}

/** Cumulative counters since the hub started; metrics read these on scrape (nothing per event). */
export interface HubStats {
  connections: number
  opened: number
  closed: Record<CloseReason, number>
  rejected: Record<RejectReason, number>
  published: number
  delivered: number
  bytesSent: number
  heartbeats: number
  replayed: number
  resets: number
  historyEvents: number
}

/** What an adapter passes when it turns a request into a stream. */
export interface SubscribeOptions {
  /** Validated topics; a trailing `/*` subscribes to a prefix. */
  topics: readonly string[]
  /** Resume point. Adapters default it from the `Last-Event-ID` header, else the `lastEventId` query parameter. */
  lastEventId?: string | undefined
  /** Client address after trust-proxy resolution. Adapters default it from the socket. */
  remoteAddress?: string | undefined
  userAgent?: string | undefined
  /** Wall-clock ms when the subscriber's credential expires: the stream closes with `token_expired`. */
  expiresAt?: number | undefined
  /**
   * Where to join when there is no Last-Event-ID (`?from=`): `start`, `now` or `last:N`. For a finite
   * stream (one topic, `HubOptions.streams`); other topics join from now. @default now
   */
  from?: string | undefined
}

/** Lifecycle events of the registry, for logs, metrics and the dashboard (never per event). */
export interface HubEvents {
  open: (info: ConnectionInfo) => void
  close: (info: ConnectionInfo, reason: CloseReason, durationMs: number) => void
  reject: (reason: RejectReason, remoteAddress: string) => void
  /** A stream that carried no event for idleTimeoutMs/2 (warn-level log), once per quiet period. */
  idle: (info: ConnectionInfo) => void
}

/**
 * The transport under one stream, written by an adapter (node:http / HTTP-2 compat, Fastify, Web
 * ReadableStream). The hub decides what and when; the sink only moves bytes. `attach` is called once,
 * after admission, and the sink then reports `drained` and `closed` through the listener.
 */
export interface StreamSink {
  /** Sends status 200 with these headers (plus `Connection: keep-alive` on HTTP/1.1), disables
   *  Nagle and request timeouts, and applies `transport` where the platform allows. Called once,
   *  after admission, before any write. */
  open(headers: ReadonlyArray<readonly [string, string]>, transport: TransportTuning): void
  attach(listener: SinkListener): void
  /** Queues bytes; false when the transport holds more than its high-water mark (wait for `drained`).
   *  The hub passes the same bytes object to every stream for the same event(s): a sink may cache
   *  per-object work (the node adapter frames HTTP/1.1 chunks once per object). */
  write(chunk: Uint8Array): boolean
  /** Bytes accepted by write() that the kernel has not taken yet. */
  bufferedBytes(): number
  /** Ends cleanly (final chunk, END_STREAM, stream close); `done` runs once flushed or failed. */
  end(done: () => void): void
  /** Aborts at once: only for slow consumers, whose buffered bytes must not be waited for. */
  destroy(): void
}

/** Socket settings a sink applies where it owns a TCP socket (HTTP/1.1). */
export interface TransportTuning {
  /** TCP_USER_TIMEOUT, ms: the kernel gives up on a peer that leaves written bytes unacknowledged this long. 0: OS default. */
  readonly userTimeoutMs: number
  /** TCP keepalive idle time, ms, before the first probe. */
  readonly keepAliveMs: number
}

export interface SinkListener {
  /** The transport buffer fell below its high-water mark. */
  drained(): void
  /** The transport closed (client went away, or the kernel gave up: pass the error). Idempotent. */
  closed(error?: Error): void
}

/** Why `open` refused a stream; adapters answer `status` with `{ error, message }` and `Retry-After`. */
export interface Rejection {
  readonly status: 429 | 503
  readonly reason: RejectReason
  /** Seconds, for the `Retry-After` header. */
  readonly retryAfterSeconds: number
  readonly error: string
  readonly message: string
}

/** An open stream, as its request handler sees it. */
export interface StreamHandle {
  readonly id: string
  /** Fires once when the stream closes for any reason (the seed's context cancellation). */
  readonly signal: AbortSignal
  info(): ConnectionInfo
  /** Bytes queued for this stream and not yet taken by the kernel: the transport's buffer plus the
   *  events the hub holds while the socket is backed up (no snapshot allocated, unlike `info()`). */
  readonly bufferedBytes: number
  /** Ends the stream cleanly with this reason (default `shutdown`). */
  close(reason?: CloseReason): void
}

export type OpenResult =
  | { readonly ok: true; readonly stream: StreamHandle }
  | { readonly ok: false; readonly rejection: Rejection }

/**
 * The hub core. Framework-free; adapters (src/adapters: node:http/Express/HTTP-2 compat, Fastify,
 * Web Request->Response) turn a request into a stream with `SubscribeOptions`.
 */
export interface Hub {
  /** Stores (history assigns the id), encodes once and fans out. Resolves with the id. Rejects with
   *  LifelineError LIFELINE_ERR_BACKEND_UNAVAILABLE when the history backend cannot store it. */
  publish(
    topics: string | readonly string[],
    event: { data: string; event?: string | undefined },
  ): Promise<string>
  /** Live snapshot of every open stream. */
  connections(): ConnectionInfo[]
  /** Open streams now. */
  readonly size: number
  stats(): HubStats
  /** Subscribers per topic pattern now (dashboard topic list). */
  topicCounts(): Map<string, number>
  on<E extends keyof HubEvents>(event: E, listener: HubEvents[E]): () => void
  /** publish -> first socket write, seconds, once per publish (metric publish_to_write_seconds). */
  onPublishToWrite(listener: (seconds: number) => void): () => void
  /** History ready and no drain in progress (`/readyz`). */
  ready(): boolean
  readonly draining: boolean
  readonly history: History
  /** The finite-stream store, when `HubOptions.streams` built one. */
  readonly streams: StreamStore | undefined
  /** For adapters: admission (limits, draining), then opens a stream on `sink`. Throws LifelineError
   *  LIFELINE_ERR_TOPIC_INVALID for a bad topic (answer 400) before anything is written. */
  open(sink: StreamSink, options: SubscribeOptions): OpenResult
  /** Graceful drain: refuse new streams, send each a jittered `retry:`, end them, wait for writes up to
   *  shutdownTimeoutMs, release the clock and the history. */
  close(): Promise<void>
}
