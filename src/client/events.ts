import type { LifelineError } from '../protocol/errors.ts'

/** `connecting` at construction, `open` while a stream is read, `reconnecting` while waiting, `closed` for good. */
export type ClientState = 'connecting' | 'open' | 'reconnecting' | 'closed'

/** Fired as `statechange` on every change of `state` after construction. */
export class StateChangeEvent extends Event {
  readonly state: ClientState
  /** Reconnect attempt number (1 = first since the last open stream); 0 when not reconnecting. */
  readonly attempt: number
  /** Delay in ms before that attempt; 0 when not reconnecting. */
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
