import type { LifelineError } from '../protocol/errors.ts'

/**
 * `connecting` while a request is in flight (at construction, and for each reconnect attempt), `open`
 * while a stream is read, `reconnecting` while waiting before the next attempt, `closed` for good.
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
