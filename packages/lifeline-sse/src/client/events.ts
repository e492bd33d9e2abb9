import type { LifelineError } from '../protocol/errors.ts'

/**
 * Where a `LifelineEventSource` is (event-source.ts moves it; `statechange` reports each move).
 *
 * ```
 * connecting ──200 text/event-stream──▶ open
 * connecting ──network error; 429, 502, 503, 504 (not with `strict`)──▶ reconnecting
 * open ──network error, stream ended──▶ reconnecting
 * reconnecting ──backoff delay elapsed──▶ connecting
 * connecting ──any other status (204 included), not text/event-stream, unreadable body──▶ closed
 * open ──lifeline:end──▶ closed
 * connecting | open ──a failure past retry.maxAttempts──▶ closed
 * any ──close()──▶ closed
 * ```
 *
 * - `connecting`: a request is in flight (at construction, and for each reconnect attempt).
 *   `readyState` is CONNECTING.
 * - `open`: a stream is being read; `readyState` is OPEN.
 * - `reconnecting`: waiting out the backoff before the next attempt; `readyState` is CONNECTING
 *   (the WHATWG EventSource has no separate state for the wait).
 * - `closed`: final, as the spec's CLOSED: nothing reconnects it.
 */
export type ClientState = 'connecting' | 'open' | 'reconnecting' | 'closed'

/** Fired as `statechange` on every change of `state` after construction. */
export class StateChangeEvent extends Event {
  readonly state: ClientState
  /** Reconnect attempt number (1 = first since the last open stream); 0 while open or before any reconnect. */
  readonly attempt: number
  /** Delay in ms before that attempt when `reconnecting`; else 0. */
  readonly delay: number

  constructor(state: ClientState, attempt: number, delay: number) {
    super('statechange')
    this.state = state
    this.attempt = attempt
    this.delay = delay
  }
}

/**
 * The `error` event. As in browsers it is a plain, non-cancelable event without `data`; Lifeline adds
 * why it happened (`error.code`, `message`), the HTTP `status` when there was a response, and whether
 * the client will try again (`willRetry`; false means the EventSource is now CLOSED).
 */
export class ClientErrorEvent extends Event {
  readonly error: LifelineError
  readonly message: string
  readonly status: number | undefined
  readonly willRetry: boolean

  constructor(error: LifelineError, status: number | undefined, willRetry: boolean) {
    super('error')
    this.error = error
    this.message = error.message
    this.status = status
    this.willRetry = willRetry
  }
}
