/**
 * The one interface every history store implements: the in-memory ring (default), the file store
 * (`--history-file`) and the Redis Streams backend (`lifeline-sse/redis`). The hub never talks to a
 * store any other way.
 *
 * Ids: assigned by the store on append, strictly increasing in one total order per store (per hub for
 * memory/file, per cluster for Redis). Memory/file ids carry an epoch so an id from another run (or
 * another hub) is recognised as unknown, never misread.
 *
 * Live delivery goes through `subscribe`: the hub fans out what the store reports, in id order. For
 * memory and file stores that happens synchronously inside `append`; for Redis it is every event any
 * node appended, read back with XREAD. The hub therefore never fans out from `append` directly.
 */
export interface StoredEvent {
  /** Assigned by the store. */
  readonly id: string
  /** Topics the event was published to (at least one). */
  readonly topics: readonly string[]
  /** Event type; undefined means `message`. */
  readonly event?: string | undefined
  /** Payload as published (already a string; non-string JSON was stringified by the caller). */
  readonly data: string
  /** Wall-clock ms when stored (for age retention). */
  readonly time: number
}

export type ResetReason = 'unknown' | 'malformed' | 'expired' | 'backend_lost'

/**
 * Bounds on one `readAfter` answer: a replay reads history in pages, so no read holds or encodes more
 * than a page however long the backlog. A store examines at most `maxEvents` stored events (matching
 * or not) and stops once the ones it examined hold `maxBytes` (always at least one event).
 */
export interface ReadPage {
  readonly maxEvents: number
  readonly maxBytes: number
}

export type ReadAfterResult =
  /**
   * The stored events after the id whose topics pass the filter, in id order (may be empty). Without
   * `next` they reach the newest event; with it the page stopped early: read on after `next` (the last
   * id examined, which may not be one of `events`).
   */
  | { readonly kind: 'events'; readonly events: readonly StoredEvent[]; readonly next?: string }
  /** The id cannot be resumed from: the caller sends `lifeline:reset` with this reason. */
  | { readonly kind: 'reset'; readonly reason: ResetReason }

export interface HistoryListener {
  /** One stored event, in id order, exactly once per event. */
  onEvent(event: StoredEvent): void
  /** The store lost events it had acknowledged (e.g. Redis came back empty): streams get `lifeline:reset`. */
  onReset?(reason: ResetReason): void
}

export interface History {
  /** Stores the event and assigns its id. Rejects (throws) when the backend is unavailable: nothing stored. */
  append(
    topics: readonly string[],
    event: { readonly data: string; readonly event?: string | undefined },
  ): Promise<StoredEvent>
  /**
   * Replay source for resume. `match` filters by the subscriber's topics. With `page`, the answer may
   * stop early (see `ReadPage`); a store that ignores `page` answers everything at once, which the hub
   * still writes paced, but then holds the whole backlog while it does.
   */
  readAfter(
    afterId: string,
    match: (topics: readonly string[]) => boolean,
    page?: ReadPage,
  ): Promise<ReadAfterResult>
  /** The newest id stored, or undefined when empty. */
  lastId(): string | undefined
  /** Compares two ids of this store: negative, 0, positive. */
  compare(a: string, b: string): number
  /** Registers the live feed. Returns an unsubscribe function. */
  subscribe(listener: HistoryListener): () => void
  /** Count of events held now (metric `lifeline_history_events`). */
  size(): number
  /** Ready to serve (Redis: connected and reading). Memory/file: always true. */
  ready(): boolean
  /** Releases files, connections and timers. */
  close(): Promise<void>
}
