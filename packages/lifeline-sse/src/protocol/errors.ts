/**
 * Every error Lifeline throws on purpose, and the one table that says what each means over HTTP.
 * `code` is stable and documented in docs/errors.md (test/hub/errors-doc.test.ts checks the table and
 * the page against each other both ways); `message` says what went wrong and what to do about it.
 * `status` and `error` are what an HTTP edge answers: the hub's error handler and the adapters' docs use
 * them, so the same bad input gets the same answer from the library and from the hub.
 */

/** `status`: the HTTP status the code implies; `error`: the JSON `error` string sent with it. */
export interface ErrorMeaning {
  readonly status: number
  readonly error: string
}

const INTERNAL: ErrorMeaning = { status: 500, error: 'internal_error' }

/** Code -> HTTP meaning. Codes that come from the caller's input are 4xx; misuse of the API is 500. */
export const LIFELINE_ERRORS = {
  // Input that reaches the library from a request: 4xx, the request's fault.
  LIFELINE_ERR_TOPIC_INVALID: { status: 400, error: 'bad_topic' },
  LIFELINE_ERR_EVENT_NAME_INVALID: { status: 400, error: 'bad_event' },
  LIFELINE_ERR_EVENT_NAME_RESERVED: { status: 400, error: 'bad_event' },
  LIFELINE_ERR_EVENT_ID_INVALID: { status: 400, error: 'bad_event' },
  LIFELINE_ERR_DATA_INVALID: { status: 400, error: 'bad_data' },
  LIFELINE_ERR_COMMENT_INVALID: { status: 400, error: 'bad_request' },
  LIFELINE_ERR_RETRY_INVALID: { status: 400, error: 'bad_request' },
  LIFELINE_ERR_QUERY_INVALID: { status: 400, error: 'bad_query' },
  // The hub cannot take it now: retry later.
  LIFELINE_ERR_BACKEND_UNAVAILABLE: { status: 503, error: 'backend_unavailable' },
  LIFELINE_ERR_HUB_CLOSED: { status: 503, error: 'draining' },
  // The program's own mistakes (options, installation): never the request's fault.
  LIFELINE_ERR_OPTION_INVALID: INTERNAL,
  LIFELINE_ERR_HISTORY_FILE: INTERNAL,
  LIFELINE_ERR_REDIS_CLIENT_MISSING: INTERNAL,
  LIFELINE_ERR_CONFIG_INVALID: INTERNAL,
  LIFELINE_ERR_BENCH_OPTION: INTERNAL,
  LIFELINE_ERR_BENCH_TARGET: INTERNAL,
  // The client's reports on its `error` event; they describe the server's answer, not a request to it.
  LIFELINE_ERR_CLIENT_NETWORK: INTERNAL,
  LIFELINE_ERR_CLIENT_STREAM_ENDED: INTERNAL,
  LIFELINE_ERR_CLIENT_HEARTBEAT_TIMEOUT: INTERNAL,
  LIFELINE_ERR_CLIENT_RETRYABLE_STATUS: INTERNAL,
  LIFELINE_ERR_CLIENT_STATUS: INTERNAL,
  LIFELINE_ERR_CLIENT_CONTENT_TYPE: INTERNAL,
  LIFELINE_ERR_CLIENT_MAX_ATTEMPTS: INTERNAL,
  LIFELINE_ERR_CLIENT_RESPONSE_INVALID: INTERNAL,
  LIFELINE_ERR_CLIENT_BODY_INVALID: INTERNAL,
  LIFELINE_ERR_CLIENT_ABORTED: INTERNAL,
  // A parser's bound: an event or line longer than maxEventLength (a server that never ends a line).
  LIFELINE_ERR_EVENT_TOO_LARGE: INTERNAL,
} as const satisfies Record<`LIFELINE_ERR_${string}`, ErrorMeaning>

export type LifelineErrorCode = keyof typeof LIFELINE_ERRORS

export class LifelineError extends Error {
  readonly code: LifelineErrorCode
  /** The HTTP status this error implies (400 for bad input, 503 for "retry later", 500 for misuse). */
  readonly status: number
  /** The JSON `error` string an HTTP edge answers with `status`. */
  readonly error: string

  constructor(code: LifelineErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'LifelineError'
    this.code = code
    const meaning: ErrorMeaning = LIFELINE_ERRORS[code] ?? INTERNAL
    this.status = meaning.status
    this.error = meaning.error
  }

  /** The JSON body an HTTP edge sends with `status`: `{"error": ..., "message": ...}`. */
  toJSON(): { error: string; message: string; code: LifelineErrorCode } {
    return { error: this.error, message: this.message, code: this.code }
  }
}
