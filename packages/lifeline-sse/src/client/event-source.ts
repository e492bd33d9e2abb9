import { LifelineError, type LifelineErrorCode } from '../protocol/errors.ts'
import { EventStreamParser } from '../protocol/parse.ts'
import { RESET_EVENT } from '../protocol/reserved.ts'
import type { LifelineResetData, ParsedEvent } from '../protocol/types.ts'
import { parseRetryAfter, type ResolvedRetry, reconnectDelay } from './backoff.ts'
import {
  type CheckedInit,
  type ClientClock,
  checkInit,
  type LifelineEventSourceInit,
} from './event-source-options.ts'
import { ClientErrorEvent, type ClientState, StateChangeEvent } from './events.ts'
import type {
  EventSourceLike,
  FetchLike,
  ListenerLike,
  ListenerOptions,
  PageDocument,
  PageTarget,
} from './fetch-like.ts'
import { type LastEventIdStore, memoryStore } from './last-event-id-store.ts'
import {
  type BodyReader,
  cancelQuietly,
  describeValue,
  isResponse,
  readerOf,
  readReason,
  refusalMessage,
} from './response-checks.ts'

/** The event that ends a finite stream (the hub's `lifeline:end`): the client stops for good after it. */
const END_EVENT = 'lifeline:end'

const globalClock: ClientClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/** Typed events of `addEventListener`. `error` is a ClientErrorEvent (a plain Event with the reason). */
export interface LifelineEventSourceEventMap {
  open: Event
  message: MessageEvent
  error: ClientErrorEvent
  statechange: StateChangeEvent
  /** The hub's reset notice: `JSON.parse(event.data)` is a `LifelineResetData`. */
  'lifeline:reset': MessageEvent
}

export type { LifelineResetData }
/** The event type of the hub's reset notice (see `LifelineResetData`); defined once, in the protocol. */
export { RESET_EVENT }

/** An event handler property's type (`onopen`, `onmessage`, `onerror`). */
type Handler<E extends Event> = ((this: EventSourceLike, event: E) => unknown) | null
type HandlerName = 'open' | 'message' | 'error'

// readyState values, named by the WHATWG IDL.
const CONNECTING = 0
const OPEN = 1
const CLOSED = 2

/**
 * Without `heartbeatTimeout`: a page hidden this long, whose stream was silent as long, reconnects
 * when visible again. Twice the hub's default heartbeat (15 s), so a live Lifeline stream is never
 * silent that long.
 */
const HIDDEN_STREAM_DEAD_MS = 30_000

/** Statuses Lifeline retries with backoff unless `strict`: the server is there but busy or overloaded. */
const RETRYABLE_STATUS = new Set([429, 502, 503, 504])
/** [spec] a MIME type's essence: "type/subtype", ASCII-lowercased, parameters dropped. */
const EVENT_STREAM = 'text/event-stream'

/** Hook for `subscribe`: receives every dispatched message event, whatever its type. */
export const kAnyEvent: unique symbol = Symbol('lifeline.anyEvent')

type AbortReason = 'close' | 'heartbeat' | 'replaced'

/** One fetch of the stream; callbacks of an old connection check that they are still current. */
interface Connection {
  controller: AbortController
  /** Why we aborted it ourselves: a heartbeat timeout reconnects; close/replaced do nothing more. */
  abortedFor?: AbortReason
  lastByteAt: number
  watchdog?: unknown
}

/**
 * A WHATWG `EventSource` (HTML "Server-sent events") built on `fetch` and Lifeline's parser, that also
 * keeps the stream up: backoff with jitter, retries on overload statuses, a heartbeat watchdog, the
 * last event id kept across reconnects (and reloads), and a `state` a UI can show.
 */
export class LifelineEventSource extends EventTarget {
  static readonly CONNECTING = CONNECTING
  static readonly OPEN = OPEN
  static readonly CLOSED = CLOSED
  readonly CONNECTING = CONNECTING
  readonly OPEN = OPEN
  readonly CLOSED = CLOSED

  readonly url: string
  readonly withCredentials: boolean

  declare [kAnyEvent]?: (event: MessageEvent) => void

  #readyState: number = CONNECTING
  #state: ClientState = 'connecting'
  #attempt = 0
  #nextDelay = 0
  #serverRetry: number | undefined
  #lastEventId: string
  #origin = ''
  #init: LifelineEventSourceInit
  #checked: CheckedInit
  #headers: Headers
  #retry: ResolvedRetry
  #clock: ClientClock
  #store: LastEventIdStore
  #parser: EventStreamParser
  #conn: Connection | undefined
  #reconnectTimer: unknown
  #handlers: Record<HandlerName, Handler<Event> | undefined> = {
    open: undefined,
    message: undefined,
    error: undefined,
  }
  #detach: (() => void) | undefined

  constructor(url: string | URL, options?: LifelineEventSourceInit) {
    super()
    // [spec] "Let urlRecord be the result of encoding-parsing a URL given url, relative to settings.
    // If urlRecord is failure, then throw a "SyntaxError" DOMException."
    let record: URL
    try {
      record = new URL(String(url), (globalThis as { location?: { href: string } }).location?.href)
    } catch {
      throw new DOMException(`EventSource: cannot parse the URL "${String(url)}"`, 'SyntaxError')
    }
    // [spec] "Set ev's url to the serialization of urlRecord." It stays the same across redirects.
    this.url = record.href
    // Every option is checked here: a wrong type or range throws now, naming the option.
    const checked = checkInit(options)
    const init = checked.init
    // [spec] "If corsAttributeState is Use Credentials, then set ev's withCredentials attribute to true."
    this.withCredentials = Boolean(init.withCredentials) || init.credentials === 'include'
    this.#init = init
    this.#checked = checked
    // Built once, so invalid headers throw here (a TypeError, as fetch would) rather than on each attempt.
    const headers = new Headers(init.headers as ConstructorParameters<typeof Headers>[0])
    // [spec] "Set (`Accept`, `text/event-stream`) in request's header list." Accept is CORS-safelisted
    // with this value, so the first request stays a CORS simple request (no preflight) as a native
    // EventSource's does. No `Cache-Control` is set here: the cache mode "no-store" below makes fetch
    // send `Cache-Control: no-cache` itself, after the CORS check, so it costs no preflight.
    if (!headers.has('accept')) headers.set('accept', EVENT_STREAM)
    this.#headers = headers
    this.#retry = checked.retry
    this.#clock = init.clock ?? globalClock
    this.#store = init.lastEventIdStore ?? memoryStore()
    this.#lastEventId = this.#store.get() ?? ''
    this.#parser = new EventStreamParser(
      {
        onEvent: (event) => this.#dispatchMessage(event),
        // [spec] "If the field value consists of only ASCII digits, then interpret the field value as
        // an integer in base ten, and set the event stream's reconnection time to that integer."
        onRetry: (ms) => {
          this.#serverRetry = ms
        },
        onComment: init.onComment === undefined ? undefined : (text) => this.#dispatchComment(text),
      },
      { lastEventId: this.#lastEventId, maxEventLength: checked.maxEventLength },
    )
    const signal = init.signal
    if (signal?.aborted) {
      this.#readyState = CLOSED
      this.#state = 'closed'
      return
    }
    this.#listen(signal)
    // [spec] the fetch runs "in parallel": start it after the constructor returns, so a close() right
    // after construction cancels it before any request is sent.
    queueMicrotask(() => this.#connect())
  }

  /** WHATWG: CONNECTING (0), OPEN (1) or CLOSED (2). */
  get readyState(): number {
    return this.#readyState
  }

  /** Lifeline: `connecting | open | reconnecting | closed`. Changes fire `statechange`. */
  get state(): ClientState {
    return this.#state
  }

  /** The id the next connection resumes from (sent as `Last-Event-ID` when not empty). */
  get lastEventId(): string {
    return this.#lastEventId
  }

  /** Reconnect attempt number since the last open stream (1 = first); 0 while connected or connecting first. */
  get attempt(): number {
    return this.#attempt
  }

  /** ms the pending reconnect waits (0 when none is pending). */
  get nextDelay(): number {
    return this.#nextDelay
  }

  /** The reconnection time the server set with `retry:` (ms), if any. */
  get serverRetry(): number | undefined {
    return this.#serverRetry
  }

  get onopen(): Handler<Event> {
    return this.#handlers.open ?? null
  }
  set onopen(handler: Handler<Event>) {
    this.#setHandler('open', handler)
  }
  get onmessage(): Handler<MessageEvent> {
    return (this.#handlers.message as Handler<MessageEvent>) ?? null
  }
  set onmessage(handler: Handler<MessageEvent>) {
    this.#setHandler('message', handler as Handler<Event>)
  }
  /**
   * Read back as the WHATWG type (an `Event` handler), so the class stays assignable to `EventSource`;
   * a handler assigned here receives a ClientErrorEvent.
   */
  get onerror(): Handler<Event> {
    return this.#handlers.error ?? null
  }
  set onerror(handler: Handler<ClientErrorEvent>) {
    this.#setHandler('error', handler as Handler<Event>)
  }

  // The WHATWG overloads, so handlers get typed events and the class is assignable to `EventSource`.
  override addEventListener<K extends keyof LifelineEventSourceEventMap>(
    type: K,
    listener: (this: EventSourceLike, event: LifelineEventSourceEventMap[K]) => unknown,
    options?: boolean | ListenerOptions,
  ): void
  override addEventListener(
    type: string,
    listener: (this: EventSourceLike, event: MessageEvent) => unknown,
    options?: boolean | ListenerOptions,
  ): void
  override addEventListener(
    type: string,
    listener: ListenerLike | null,
    options?: boolean | ListenerOptions,
  ): void
  override addEventListener(type: string, listener: unknown, options?: boolean | ListenerOptions): void {
    super.addEventListener(type, listener as Parameters<EventTarget['addEventListener']>[1], options)
  }

  override removeEventListener<K extends keyof LifelineEventSourceEventMap>(
    type: K,
    listener: (this: EventSourceLike, event: LifelineEventSourceEventMap[K]) => unknown,
    options?: boolean | ListenerOptions,
  ): void
  override removeEventListener(
    type: string,
    listener: (this: EventSourceLike, event: MessageEvent) => unknown,
    options?: boolean | ListenerOptions,
  ): void
  override removeEventListener(
    type: string,
    listener: ListenerLike | null,
    options?: boolean | ListenerOptions,
  ): void
  override removeEventListener(type: string, listener: unknown, options?: boolean | ListenerOptions): void {
    super.removeEventListener(type, listener as Parameters<EventTarget['removeEventListener']>[1], options)
  }

  /**
   * [spec] "1. Abort any instances of the fetch algorithm started for this EventSource object.
   * 2. Set this's readyState attribute to CLOSED." Synchronous: a pending reconnect is cancelled and no
   * event but the final `statechange` (fired before close() returns) follows.
   */
  close(): void {
    if (this.#readyState === CLOSED) return
    this.#readyState = CLOSED
    this.#stop('close')
    this.#setState('closed')
  }

  #setHandler(type: HandlerName, handler: Handler<Event>): void {
    // An event handler keeps the listener position of the first assignment, as in the DOM.
    if (this.#handlers[type] === undefined) {
      this.addEventListener(type, (event) => this.#handlers[type]?.call(this, event))
    }
    this.#handlers[type] = typeof handler === 'function' ? handler : null
  }

  #setState(state: ClientState): void {
    if (this.#state === state) return
    this.#state = state
    this.dispatchEvent(new StateChangeEvent(state, this.#attempt, this.#nextDelay))
  }

  #listen(signal: AbortSignal | undefined): void {
    const onAbort = () => this.close()
    signal?.addEventListener('abort', onAbort)
    // Browsers: a page that comes back online, or visible after being hidden long enough for its stream
    // to have been killed (mobile browsers freeze background tabs, NATs forget idle flows), reconnects
    // at once instead of waiting out a backoff that timers of a hidden page stretched anyway.
    const win = globalThis as { addEventListener?: unknown; document?: PageDocument }
    const doc = win.document
    let hiddenAt = -1
    const onOnline = () => this.#wake()
    const onVisibility = () => {
      const now = this.#clock.now()
      if (doc?.visibilityState === 'hidden') {
        hiddenAt = now
        return
      }
      const hiddenFor = hiddenAt < 0 ? 0 : now - hiddenAt
      hiddenAt = -1
      if (hiddenFor >= this.#silenceLimit()) this.#wake()
    }
    const page =
      typeof win.addEventListener === 'function' && doc !== undefined ? (win as PageTarget) : undefined
    if (page !== undefined && doc !== undefined) {
      page.addEventListener('online', onOnline)
      doc.addEventListener('visibilitychange', onVisibility)
    }
    this.#detach = () => {
      signal?.removeEventListener('abort', onAbort)
      if (page !== undefined && doc !== undefined) {
        page.removeEventListener('online', onOnline)
        doc.removeEventListener('visibilitychange', onVisibility)
      }
    }
  }

  /** How long a silent stream is presumed dead: `heartbeatTimeout`, else HIDDEN_STREAM_DEAD_MS. */
  #silenceLimit(): number {
    const limit = this.#checked.heartbeatTimeout
    return limit > 0 ? limit : HIDDEN_STREAM_DEAD_MS
  }

  /** The network may be back: skip a pending wait, and drop a stream that has been silent too long. */
  #wake(): void {
    if (this.#readyState === CLOSED) return
    if (this.#reconnectTimer !== undefined) {
      this.#clock.clearTimeout(this.#reconnectTimer)
      this.#reconnectTimer = undefined
      this.#connect()
      return
    }
    const conn = this.#conn
    if (conn !== undefined && this.#clock.now() - conn.lastByteAt >= this.#silenceLimit()) {
      this.#abortFor(conn, 'heartbeat')
    }
  }

  /** Cancel everything in flight: the fetch, its watchdog, a pending reconnect. */
  #stop(reason: 'close' | 'replaced'): void {
    if (this.#reconnectTimer !== undefined) {
      this.#clock.clearTimeout(this.#reconnectTimer)
      this.#reconnectTimer = undefined
    }
    const conn = this.#conn
    this.#conn = undefined
    if (conn !== undefined) this.#abortFor(conn, reason)
    if (reason === 'close') {
      this.#detach?.()
      this.#detach = undefined
    }
  }

  #abortFor(conn: Connection, reason: AbortReason): void {
    conn.abortedFor ??= reason
    if (conn.watchdog !== undefined) this.#clock.clearTimeout(conn.watchdog)
    conn.watchdog = undefined
    conn.controller.abort()
  }

  #connect(): void {
    this.#reconnectTimer = undefined
    // [spec] "If the EventSource object's readyState attribute is not set to CONNECTING, then return."
    if (this.#readyState !== CONNECTING) return
    // `reconnecting` is the wait; while the request of an attempt is in flight the state is `connecting`.
    this.#nextDelay = 0
    this.#setState('connecting')
    if (this.#readyState !== CONNECTING) return // closed from a statechange handler
    const init = this.#init
    const conn: Connection = { controller: new AbortController(), lastByteAt: this.#clock.now() }
    this.#conn = conn
    this.#armWatchdog(conn)
    const headers = new Headers(this.#headers)
    let url = this.url
    if (this.#lastEventId !== '') {
      if (init.lastEventIdParam === undefined) {
        // [spec] "If the EventSource object's last event ID string is not the empty string, then: Let
        // lastEventIDValue be the EventSource object's last event ID string, encoded as UTF-8. Set
        // (`Last-Event-ID`, lastEventIDValue) in request's header list." A header value is a byte
        // string, so each UTF-8 byte becomes one character (an id such as "é" would make fetch throw).
        headers.set('last-event-id', String.fromCharCode(...new TextEncoder().encode(this.#lastEventId)))
      } else {
        // Lifeline's option: the id goes in the query, which keeps a cross-origin reconnect a CORS
        // simple request (Last-Event-ID is not a safelisted header: it costs a preflight).
        const withId = new URL(this.url)
        withId.searchParams.set(init.lastEventIdParam, this.#lastEventId)
        url = withId.href
      }
    }
    let response: Promise<unknown>
    try {
      const fetchFn = init.fetch ?? (globalThis.fetch as unknown as FetchLike)
      response = Promise.resolve(
        fetchFn(url, {
          method: init.method ?? 'GET',
          headers,
          body: init.body,
          credentials: init.credentials ?? (this.withCredentials ? 'include' : 'same-origin'),
          // [spec] "Set request's cache mode to "no-store"." (fetch then sends Cache-Control: no-cache.)
          cache: 'no-store',
          redirect: 'follow',
          signal: conn.controller.signal,
        }),
      )
    } catch (error) {
      response = Promise.reject(error) // an injected fetch that throws is a network error like any other
    }
    response
      .then(
        (res) => this.#onResponse(conn, res),
        (error: unknown) => this.#onNetworkError(conn, error),
      )
      // Nothing a fetch resolves to may end in an unhandled rejection: whatever still throws while the
      // response is handled fails the connection with the reason.
      .catch((error: unknown) => {
        if (conn !== this.#conn) return
        this.#fail(
          new LifelineError(
            'LIFELINE_ERR_CLIENT_RESPONSE_INVALID',
            `reading the response failed (${describe(error)}): not reconnecting`,
            { cause: error },
          ),
          undefined,
        )
      })
  }

  async #onResponse(conn: Connection, response: unknown): Promise<void> {
    if (conn !== this.#conn) {
      cancelQuietly((response as { body?: unknown } | null)?.body)
      return
    }
    if (!isResponse(response)) {
      // A user-supplied fetch that resolves to something else would do so on every attempt: futile
      // to retry, so the connection fails.
      this.#fail(
        new LifelineError(
          'LIFELINE_ERR_CLIENT_RESPONSE_INVALID',
          `fetch resolved to ${describeValue(response)}, not a Response (a numeric status and headers.get): not reconnecting; check the fetch option`,
        ),
        undefined,
      )
      return
    }
    const status = response.status
    const type = response.headers.get('content-type')
    if (status !== 200) {
      if (!this.#init.strict && RETRYABLE_STATUS.has(status)) {
        cancelQuietly(response.body)
        // Lifeline's extension: an overloaded or restarting server is retried, after its Retry-After.
        const after = parseRetryAfter(response.headers.get('retry-after'), this.#clock.now())
        this.#reestablish('LIFELINE_ERR_CLIENT_RETRYABLE_STATUS', `the server answered ${status}`, {
          status,
          retryAfter: after,
        })
        return
      }
      // [spec] "Otherwise, if res's status is not 200, or if res's `Content-Type` is not
      // `text/event-stream`, then fail the connection." The error keeps the server's own reason.
      const reason = await readReason(response, mimeEssence(type))
      if (conn !== this.#conn) return
      this.#fail(
        new LifelineError(
          'LIFELINE_ERR_CLIENT_STATUS',
          refusalMessage(status, reason, response.headers.get('location')),
        ),
        status,
      )
      return
    }
    if (mimeEssence(type) !== EVENT_STREAM) {
      cancelQuietly(response.body)
      this.#fail(
        new LifelineError(
          'LIFELINE_ERR_CLIENT_CONTENT_TYPE',
          `the response's Content-Type is ${type === null ? 'missing' : `"${type}"`}, not text/event-stream: not reconnecting`,
        ),
        status,
      )
      return
    }
    // Checked before the connection is announced: a body the client cannot read (node-fetch's Node
    // stream, none at all) never shows as OPEN. Every attempt would get the same: fail, not retry.
    const reader = readerOf(response.body)
    if (reader === undefined) {
      cancelQuietly(response.body)
      this.#fail(
        new LifelineError(
          'LIFELINE_ERR_CLIENT_BODY_INVALID',
          `the response body is ${describeValue(response.body)}, not a web ReadableStream: not reconnecting; the fetch option must resolve to a WHATWG Response (as globalThis.fetch does)`,
        ),
        status,
      )
      return
    }
    // [spec] "... its origin attribute to the serialization of the origin of the event stream's final
    // URL (i.e., the URL after redirects)".
    this.#origin = originOf(response.url, this.url)
    this.#parser.reset()
    // [spec] "announce the connection": "if the readyState attribute is set to a value other than
    // CLOSED, sets the readyState attribute to OPEN and fires an event named open".
    this.#readyState = OPEN
    this.#attempt = 0
    this.#nextDelay = 0
    this.#setState('open')
    if (conn !== this.#conn) return // closed from a statechange handler
    this.dispatchEvent(new Event('open'))
    if (conn !== this.#conn) return // closed (or reconnected) from a handler
    await this.#read(conn, reader, status)
  }

  async #read(conn: Connection, reader: BodyReader, status: number): Promise<void> {
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (conn !== this.#conn) return
        if (done === true) break
        if (!(value instanceof Uint8Array)) {
          cancelQuietly(reader)
          this.#fail(
            new LifelineError(
              'LIFELINE_ERR_CLIENT_BODY_INVALID',
              `the response body yielded ${describeValue(value)}, not bytes (a Uint8Array): not reconnecting`,
            ),
            status,
          )
          return
        }
        conn.lastByteAt = this.#clock.now()
        try {
          this.#parser.push(value)
        } catch (error) {
          // LIFELINE_ERR_EVENT_TOO_LARGE: the parser dropped what it held. The server would send the
          // same event again after a reconnect, so the connection fails.
          if (conn !== this.#conn) return
          cancelQuietly(reader)
          this.#fail(error as LifelineError, status)
          return
        }
        if (conn !== this.#conn) return
        this.#syncLastEventId()
      }
    } catch (error) {
      this.#onNetworkError(conn, error)
      return
    }
    this.#streamEnded(conn)
  }

  #streamEnded(conn: Connection): void {
    if (conn !== this.#conn) return
    // [spec] "If the file ends in the middle of an event, before the final empty line, the incomplete
    // event is not dispatched." The parser also forgets an `id:` of that block.
    this.#parser.end()
    // [spec] "When the user agent is to reestablish the connection": a stream that ends, even cleanly,
    // is reconnected like a network error.
    this.#reestablish('LIFELINE_ERR_CLIENT_STREAM_ENDED', 'the stream ended')
  }

  #onNetworkError(conn: Connection, error: unknown): void {
    // A heartbeat abort keeps the connection current until its failure arrives here.
    if (conn !== this.#conn) return
    this.#parser.end()
    if (conn.abortedFor === 'heartbeat') {
      this.#reestablish(
        'LIFELINE_ERR_CLIENT_HEARTBEAT_TIMEOUT',
        `no byte arrived for ${this.#silenceLimit()} ms (heartbeatTimeout)`,
      )
      return
    }
    if ((error as { name?: unknown } | null)?.name === 'AbortError') {
      // [spec] "If res is an aborted network error, then fail the connection." Not our own abort (those
      // make the connection stale first): the page stopped it, or the fetch option aborted it. Where a
      // browser reports such an abort as a plain network error (Chromium's window.stop() does) it
      // cannot be told apart and reconnects (docs/client.md).
      this.#fail(
        new LifelineError(
          'LIFELINE_ERR_CLIENT_ABORTED',
          `the request was aborted, not by close() (${describe(error)}): not reconnecting`,
          { cause: error },
        ),
        undefined,
      )
      return
    }
    // [spec] "Otherwise, if res is a network error, then reestablish the connection, unless the user
    // agent knows that to be futile, in which case the user agent may fail the connection."
    this.#reestablish('LIFELINE_ERR_CLIENT_NETWORK', `network error (${describe(error)})`, { cause: error })
  }

  /** No byte for `heartbeatTimeout` ms: abort this connection. One timer, re-armed lazily, not per chunk. */
  #armWatchdog(conn: Connection): void {
    const limit = this.#checked.heartbeatTimeout
    if (limit <= 0) return
    const check = () => {
      conn.watchdog = undefined
      if (conn !== this.#conn) return
      const idle = this.#clock.now() - conn.lastByteAt
      if (idle >= limit) {
        this.#abortFor(conn, 'heartbeat')
      } else {
        conn.watchdog = this.#clock.setTimeout(check, limit - idle)
      }
    }
    conn.watchdog = this.#clock.setTimeout(check, limit)
  }

  #syncLastEventId(): void {
    const id = this.#parser.lastEventId
    if (id !== this.#lastEventId) {
      this.#lastEventId = id
      this.#store.set(id)
    }
  }

  #dispatchMessage(parsed: ParsedEvent): void {
    // No event after close(), even for the rest of a chunk already read.
    if (this.#readyState !== OPEN) return
    this.#syncLastEventId()
    // [spec] "Initialize event's type attribute to "message", its data attribute to data, its origin
    // attribute to the serialization of the origin of the event stream's final URL (i.e., the URL after
    // redirects), and its lastEventId attribute to the last event ID string of the event source.
    // If the event type buffer has a value other than the empty string, change the type of the newly
    // created event to equal the value of the event type buffer."
    const event = new MessageEvent(parsed.type, {
      data: parsed.data,
      origin: this.#origin,
      lastEventId: parsed.lastEventId,
    })
    this[kAnyEvent]?.(event)
    this.dispatchEvent(event)
    // A finite stream's end marker (docs/streams.md): nothing follows, ever; stop for good.
    if (parsed.type === END_EVENT && this.#readyState === OPEN) this.close()
  }

  /**
   * Reconnect after a wait, or give up after `retry.maxAttempts`. `what` says what happened; the
   * message adds what follows ("; reconnecting", or the give-up).
   */
  /** A comment line, to the `onComment` option (while OPEN, as events are). */
  #dispatchComment(text: string): void {
    if (this.#readyState !== OPEN) return
    try {
      this.#init.onComment?.(text)
    } catch (error) {
      // A throwing callback is reported like a throwing listener, and does not break the stream.
      const report = (globalThis as { reportError?: (error: unknown) => void }).reportError
      if (report !== undefined) report(error)
      else
        queueMicrotask(() => {
          throw error
        })
    }
  }

  #reestablish(
    code: LifelineErrorCode,
    what: string,
    details: { status?: number; retryAfter?: number | undefined; cause?: unknown } = {},
  ): void {
    // [spec] "If the readyState attribute is set to CLOSED, abort the task."
    if (this.#readyState === CLOSED) return
    this.#stop('replaced')
    const { status, retryAfter, cause } = details
    const attempt = this.#attempt + 1
    if (attempt > this.#retry.maxAttempts) {
      this.#fail(
        new LifelineError(
          'LIFELINE_ERR_CLIENT_MAX_ATTEMPTS',
          `gave up after ${this.#retry.maxAttempts} reconnect attempts (retry.maxAttempts); the last: ${what}`,
          { cause: new LifelineError(code, what, { cause }) },
        ),
        status,
      )
      return
    }
    let delay = reconnectDelay(attempt, this.#retry, this.#serverRetry, this.#init.random ?? Math.random)
    if (retryAfter !== undefined && retryAfter > delay) delay = retryAfter
    this.#attempt = attempt
    this.#nextDelay = delay
    // [spec] "Set the readyState attribute to CONNECTING. Fire an event named error at the EventSource object."
    this.#readyState = CONNECTING
    this.#setState('reconnecting')
    if (this.#readyState !== CONNECTING) return // closed from a statechange handler
    const reason = new LifelineError(
      code,
      `${what}; reconnecting`,
      cause === undefined ? undefined : { cause },
    )
    this.dispatchEvent(new ClientErrorEvent(reason, status, true))
    if (this.#readyState !== CONNECTING || this.#reconnectTimer !== undefined) return
    // [spec] "Wait a delay equal to the reconnection time of the event source." (plus backoff, above)
    this.#reconnectTimer = this.#clock.setTimeout(() => this.#connect(), delay)
  }

  /**
   * [spec] "When a user agent is to fail the connection, the user agent must queue a task which, if the
   * readyState attribute is set to a value other than CLOSED, sets the readyState attribute to CLOSED
   * and fires an event named error at the EventSource object. Once the user agent has failed the
   * connection, it does not attempt to reconnect."
   */
  #fail(reason: LifelineError, status: number | undefined): void {
    if (this.#readyState === CLOSED) return
    this.#readyState = CLOSED
    this.#stop('close')
    this.#nextDelay = 0
    this.#setState('closed')
    this.dispatchEvent(new ClientErrorEvent(reason, status, false))
  }
}

/** [spec] MIME type essence: the part before `;`, without HTTP whitespace, ASCII-lowercased. */
function mimeEssence(type: string | null): string {
  if (type === null) return ''
  const semicolon = type.indexOf(';')
  return (semicolon === -1 ? type : type.slice(0, semicolon)).trim().toLowerCase()
}

/** The origin of the final URL; the constructor's when the response names none (or a bad one). */
function originOf(responseUrl: unknown, fallback: string): string {
  try {
    return new URL(typeof responseUrl === 'string' && responseUrl !== '' ? responseUrl : fallback).origin
  } catch {
    return new URL(fallback).origin
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message
  }
  return String(error)
}
