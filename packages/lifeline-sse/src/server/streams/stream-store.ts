/**
 * Finite streams: named, append-only logs with their own retention (a TTL or deletion, not the global
 * history ring), a durable close, idempotent producers and forks. One interface, three stores: memory
 * (memory-stream-store.ts), the `--history-file` (file-stream-store.ts) and Redis (lifeline-sse/redis).
 *
 * A stream is a topic. Every entry is also an event of the hub's history (`History.append`): the store
 * takes the event's id as the entry's id, and the hub fans it out to `/events?topic=<name>` subscribers
 * like any other event. The durable close is one more event, `lifeline:end`, so a live subscriber
 * learns of it in order. The Durable Streams endpoint (hub, `/v1/stream/`) reads the same store and
 * writes each id as a sortable offset (offsets.ts).
 */
import type { ProducerState, ProducerTuple } from './producers.ts'

/** The event name of the end marker every reader of a closed stream receives last. */
export const END_EVENT = 'lifeline:end'

export interface StreamConfig {
  /** MIME type fixed at creation (the Durable Streams `Content-Type`). @default 'application/octet-stream' */
  readonly contentType: string
  /** Sliding time to live, seconds: the stream expires after this long without a read or write. */
  readonly ttlSeconds?: number | undefined
  /** Absolute expiry, wall-clock ms. At most one of ttlSeconds and expiresAt. */
  readonly expiresAt?: number | undefined
}

export interface StreamInfo extends StreamConfig {
  readonly name: string
  readonly closed: boolean
  /** Offset of the last entry (inherited ones included), or ZERO_OFFSET. */
  readonly tail: string
  /** Id of the `lifeline:end` event once closed. */
  readonly endId: string | undefined
  readonly forkedFrom: string | undefined
  readonly forkOffset: string | undefined
  /** Entries of the stream itself (not inherited) and their payload bytes. */
  readonly entries: number
  readonly bytes: number
}

/** A stream's state as the persistent stores write it (JSON), besides its entries and counters. */
export interface PersistedState {
  config: StreamConfig
  closed: boolean
  endId: string | undefined
  closedBy: ProducerTuple | undefined
  fork: { from: string; offset: string } | undefined
  forkRequest: { offset: string | undefined; subOffset: number | undefined } | undefined
  softDeleted: boolean
  /** Producer id -> state, as pairs (JSON has no Map). */
  producers: [string, ProducerState][]
  streamSeq: string | undefined
  /** Recent request keys -> ids, as pairs (rules.ts `rememberKey`). */
  keys?: [string, readonly string[]][] | undefined
  createdAt: number
}

export interface StreamEntry {
  /** The history id (the event id `/events` subscribers see). */
  readonly id: string
  /** The same id as a sortable offset. */
  readonly offset: string
  /** The payload: text, or base64 for binary content types (the caller decides). */
  readonly data: string
}

export type EntryCut =
  | { readonly whole: true; readonly taken: number }
  | { readonly whole: false; readonly data: string }

export interface CreateRequest {
  readonly config: StreamConfig
  /** Initial entries. */
  readonly data?: readonly string[] | undefined
  /** Created closed: `data` is the whole stream. */
  readonly closed?: boolean | undefined
  readonly fork?:
    | {
        readonly from: string
        /** Inherit entries up to this offset; default the source's tail. */
        readonly offset?: string | undefined
        /** Items past `offset` inherited too (bytes, or JSON messages), cut by `split`. */
        readonly subOffset?: number | undefined
        /**
         * The first `count` items of an entry: `whole` (with the items it holds) when `count` covers
         * it, else its first `count` items as `data`; undefined when a fork may not reach past it.
         */
        readonly split?: ((data: string, count: number) => EntryCut | undefined) | undefined
      }
    | undefined
  /** Whether the request named a content type (a fork without one inherits the source's). */
  readonly contentTypeGiven?: boolean | undefined
}

export type CreateResult =
  | { readonly kind: 'created' | 'exists'; readonly info: StreamInfo }
  | { readonly kind: 'conflict'; readonly message: string }
  | { readonly kind: 'source_not_found' | 'gone' }
  | { readonly kind: 'bad_fork'; readonly message: string }
  | { readonly kind: 'limit'; readonly message: string }

export interface AppendRequest {
  /** Entries to add; empty only with `close`. */
  readonly data: readonly string[]
  readonly close?: boolean | undefined
  /** Checked against the stream's type when data is given (normalised by the caller). */
  readonly contentType?: string | undefined
  /** The protocol's `Stream-Seq`: must grow (byte-wise) on every append that carries one. */
  readonly streamSeq?: string | undefined
  readonly producer?: ProducerTuple | undefined
  /**
   * An idempotency key (Lifeline's `Idempotency-Key`): a request with a key the stream has seen is
   * stored once and answered with the ids it stored then.
   */
  readonly key?: string | undefined
}

export type AppendResult =
  /** Stored: ids of the new entries (empty for close-only), the stream after it. */
  | {
      readonly kind: 'ok'
      readonly ids: readonly string[]
      readonly info: StreamInfo
      readonly producerSeq?: number | undefined
    }
  /** A retry of something stored (producer seq, or the closing tuple): nothing stored. */
  | {
      readonly kind: 'duplicate'
      readonly info: StreamInfo
      readonly producerSeq: number
      /** The ids the original request stored, when the stream still remembers its key. */
      readonly ids?: readonly string[] | undefined
    }
  | { readonly kind: 'not_found' | 'gone' }
  | { readonly kind: 'closed'; readonly info: StreamInfo }
  | { readonly kind: 'content_type'; readonly expected: string }
  | { readonly kind: 'stream_seq'; readonly last: string }
  | { readonly kind: 'stale_epoch'; readonly epoch: number }
  | { readonly kind: 'epoch_seq' }
  | { readonly kind: 'gap'; readonly expected: number; readonly received: number }
  | { readonly kind: 'limit'; readonly message: string }

export type ReadResult =
  | {
      readonly kind: 'entries'
      /** Entries after the offset, oldest first, at most the limit. */
      readonly entries: readonly StreamEntry[]
      /** True when the last entry returned is the tail (nothing more right now). */
      readonly upToDate: boolean
      readonly info: StreamInfo
    }
  | { readonly kind: 'not_found' | 'gone' }
  /** The offset is not one of this stream's (another store, another run of a memory hub). */
  | { readonly kind: 'bad_offset' }
  /** The offset is older than what the stream keeps. */
  | { readonly kind: 'offset_gone' }

export type DeleteResult = 'deleted' | 'not_found' | 'gone'

/** What `watch` reports: an append or the close (wake long-polls and SSE readers), or the end. */
export type StreamChange = 'append' | 'closed' | 'deleted'

export interface StreamStoreLimits {
  /** Streams held at once (soft-deleted ones included). @default 10_000. */
  maxStreams?: number
  /** Payload bytes held over all streams. @default 256 MiB. */
  maxBytes?: number
  /** Longest TTL (and furthest expiry) accepted, seconds; also the TTL of a stream created without one. @default 7 days. */
  maxTtlSeconds?: number
}

export interface StreamStore {
  create(name: string, request: CreateRequest): Promise<CreateResult>
  append(name: string, request: AppendRequest): Promise<AppendResult>
  /**
   * Entries after `after` (an offset; `-1` = from the start), at most `limit`. `touch` renews a
   * sliding TTL (reads and writes do, HEAD does not).
   */
  read(name: string, after: string, limit: number, touch: boolean): Promise<ReadResult>
  /** The last `count` entries (join with the tail of a stream). */
  readLast(name: string, count: number): Promise<ReadResult>
  info(name: string, touch: boolean): Promise<StreamInfo | 'not_found' | 'gone'>
  delete(name: string): Promise<DeleteResult>
  /** The offset of a history id of this store (a Last-Event-ID), or undefined when it is not one. */
  offsetOf(id: string): string | undefined
  /** Calls `listener` on every change of the stream until the returned function is called. */
  watch(name: string, listener: (change: StreamChange) => void): () => void
  /** Streams held now and their payload bytes (metrics). */
  stats(): { streams: number; bytes: number }
  close(): Promise<void>
}
