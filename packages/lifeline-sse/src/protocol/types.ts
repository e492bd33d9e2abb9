/** An event to send. `data` may hold any text; line breaks (LF, CR, CRLF) become several `data:` lines. */
export interface SseEvent {
  /** Payload. Arrives at the client with every line break normalised to LF. */
  data: string
  /** Event type (`event:` field). No CR, LF or NUL. Omitted means `message`. */
  event?: string
  /** Event id (`id:` field). No CR, LF or NUL. */
  id?: string
  /** Reconnection delay hint in ms (`retry:` field). A non-negative integer. */
  retry?: number
}

/** One dispatched event, as the WHATWG "dispatch the event" step would build it. */
export interface ParsedEvent {
  /** The event type: the last `event:` field of the block, or `message`. */
  type: string
  /** The data buffer with its trailing LF removed. */
  data: string
  /** The last event id string at dispatch time (kept across events until a new `id:` arrives). */
  lastEventId: string
}

/** What the parser reports. Only `onEvent` is required. */
export interface ParserCallbacks {
  onEvent(event: ParsedEvent): void
  /** A valid `retry:` field (all ASCII digits): the new reconnection time in ms. */
  onRetry?(ms: number): void
  /** A comment line (`: text`), without the colon and one optional leading space. */
  onComment?(text: string): void
}

/** How a parser starts and what it holds at most. */
export interface ParserOptions {
  /** The last event id at the start (a resumed connection). @default '' */
  lastEventId?: string
  /**
   * The most characters (UTF-16 code units, as `string.length`) the data of one event, or one line not
   * yet ended, may hold; past it `push` throws `LIFELINE_ERR_EVENT_TOO_LARGE`. Checked once per chunk,
   * so at most one chunk more is held. @default 16_777_216 (16 Mi). 0 disables the bound.
   */
  maxEventLength?: number
}

/**
 * The data of the Lifeline hub's `lifeline:reset` event (JSON): the stream could not resume from
 * `lastEventId`, so events may have been missed: refetch the state, then keep reading. `reason`:
 * `unknown` (an id the hub never issued or no longer knows), `malformed` (not an id of Lifeline's
 * shape), `expired` (older than the history kept), `backend_lost` (the history store lost events).
 */
export interface LifelineResetData {
  reason: 'unknown' | 'malformed' | 'expired' | 'backend_lost'
  /** The id the client asked to resume from (cut to 128 characters). */
  lastEventId: string
}
