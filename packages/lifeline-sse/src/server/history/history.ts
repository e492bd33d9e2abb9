/**
 * The one interface every history store implements: the in-memory ring (default, memory-history.ts),
 * the file store (`--history-file`, file-history.ts), a hub's view of a sequencer in another process
 * (remote-history.ts) and the Redis Streams backend (`lifeline-sse/redis`). The hub never talks to a
 * store any other way. test/delivery/history-contract.ts is the one test body every store runs.
 *
 * Ids: assigned by the store on append, strictly increasing in one total order per store (per hub for
 * memory/file, per sequencer, per Redis stream), printable ASCII. Memory/file/sequencer ids carry an
 * epoch, so an id from another run (or another hub) is recognised as unknown, never misread; a Redis
 * stream knows an id as unknown only when it is newer than any it assigned.
 *
 * Live delivery goes through `subscribe`: the hub fans out what the store reports, once per event, in
 * id order, its own appends included; it never fans out from `append` directly. Memory and file call
 * the listeners synchronously inside `append`; a sequencer's hubs and Redis nodes hear each event once
 * it comes back on the feed (every event any process appended). `lastId`, `size` and the end of a
 * `readAfter` follow the feed: a replay ends where the live feed stands, so nothing comes both ways.
 *
 * Listeners: a listener that throws does not fail `append` (the event is stored, and a publisher
 * that saw a failure would publish it again) and does not keep the event from the other listeners.
 * The error, with the event id in its message and the thrown value as `cause`, goes to the store's
 * `onError` (`HistoryErrorOptions`; default: a `LifelineHistoryWarning` process warning). Every store
 * calls its listeners through `HistoryListeners` (listeners.ts), which holds this rule.
 *
 * Retention: memory and file trim exactly by count, bytes and age on their injected clock; Redis trims
 * by `MAXLEN ~` (approximately, in whole stream nodes) and by age once a second on Redis's clock, and
 * has no byte limit.
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

/** Receives errors no caller can be given: a listener threw, a background task (a Redis trim) failed. */
export type HistoryErrorHandler = (error: Error) => void

/** What every store's options take besides retention. */
export interface HistoryErrorOptions {
  /** Errors with no caller to reject (a listener threw, a background trim failed). @default a process warning */
  onError?: HistoryErrorHandler
}

export interface History {
  /**
   * Stores the event and assigns its id. Rejects with LIFELINE_ERR_BACKEND_UNAVAILABLE when the
   * backend is unavailable or the store is closed: nothing stored.
   */
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
