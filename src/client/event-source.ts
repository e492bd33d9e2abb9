import { LifelineError } from '../protocol/errors.ts'
import { EventStreamParser } from '../protocol/parse.ts'
import type { ParsedEvent } from '../protocol/types.ts'
import { parseRetryAfter, type RetryOptions, reconnectDelay, resolveRetry } from './backoff.ts'
import { ClientErrorEvent, type ClientState, StateChangeEvent } from './events.ts'
import { type LastEventIdStore, memoryStore } from './last-event-id.ts'

/** The event that ends a finite stream (the hub's `lifeline:end`): the client stops for good after it. */
const END_EVENT = 'lifeline:end'

/** Time as the client sees it. Injected in tests; the default is the global clock and timers. */
export interface ClientClock {
  now(): number
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

const globalClock: ClientClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

export interface LifelineEventSourceInit {
  /** WHATWG: send cookies/credentials cross-origin. Same as `credentials: 'include'`. @default false */
  withCredentials?: boolean
  /** Extra request headers (e.g. `Authorization`). Cross-origin, any of them makes the browser preflight. */
  headers?: HeadersInit
  /** Request method. @default 'GET' */
  method?: string
  /** Request body, sent again on every reconnect (so use a string, Blob, FormData or URLSearchParams). */
  body?: BodyInit
  /** fetch credentials mode. @default 'include' with `withCredentials`, else 'same-origin' */
  credentials?: RequestCredentials
  /** The fetch to use. @default globalThis.fetch */
  fetch?: typeof fetch
  /** Backoff between reconnects; see RetryOptions for units and defaults. */
  retry?: RetryOptions
  /** Reconnect when no byte arrived for this many ms (set it above the server's heartbeat). @default 0 (off) */
  heartbeatTimeout?: number
  /** Where the last event id is kept between connections (and page loads). @default memoryStore() */
  lastEventIdStore?: LastEventIdStore
  /** true: the exact WHATWG rule, every non-200 status fails for good (no retry on 429/502/503/504). @default false */
  strict?: boolean
  /** Aborting it closes the EventSource. @default none */
  signal?: AbortSignal
  /** Clock and timers (tests). @default the global ones */
  clock?: ClientClock
  /** Source of jitter in [0, 1) (tests). @default Math.random */
  random?: () => number
}

/** Typed events of `addEventListener`. `error` is a ClientErrorEvent (a plain Event with the reason). */
export interface LifelineEventSourceEventMap {
  open: Event
  message: MessageEvent
  error: ClientErrorEvent
  statechange: StateChangeEvent
}

type Handler<E extends Event> = ((this: EventSource, event: E) => unknown) | null
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
  #headers: Headers
  #retry
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

  constructor(url: string | URL, init: LifelineEventSourceInit = {}) {
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
    // [spec] "If corsAttributeState is Use Credentials, then set ev's withCredentials attribute to true."
    this.withCredentials = init.withCredentials === true || init.credentials === 'include'
    this.#init = init
    // Built once, so invalid headers throw here (a TypeError, as fetch would) rather than on each attempt.
    const headers = new Headers(init.headers)
    // [spec] "Set (`Accept`, `text/event-stream`) in request's header list."
    if (!headers.has('accept')) headers.set('accept', EVENT_STREAM)
    // [spec] "Set request's cache mode to "no-store"." Sent as a header too, as browsers and proxies expect.
    if (!headers.has('cache-control')) headers.set('cache-control', 'no-cache')
    this.#headers = headers
    this.#retry = resolveRetry(init.retry)
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
      },
      { lastEventId: this.#lastEventId },
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
  get onerror(): Handler<Event> {
    return this.#handlers.error ?? null
  }
  set onerror(handler: Handler<Event>) {
    this.#setHandler('error', handler)
  }

  // The WHATWG overloads, so handlers get typed events and the class is assignable to `EventSource`.
  override addEventListener<K extends keyof LifelineEventSourceEventMap>(
    type: K,
    listener: (this: EventSource, event: LifelineEventSourceEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void
  override addEventListener(
    type: string,
    listener: (this: EventSource, event: MessageEvent) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void
  override addEventListener(
    type: string,
    listener: unknown,
    options?: boolean | AddEventListenerOptions,
  ): void {
    super.addEventListener(type, listener as EventListenerOrEventListenerObject | null, options)
  }

  override removeEventListener<K extends keyof LifelineEventSourceEventMap>(
    type: K,
    listener: (this: EventSource, event: LifelineEventSourceEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void
  override removeEventListener(
    type: string,
    listener: (this: EventSource, event: MessageEvent) => unknown,
    options?: boolean | EventListenerOptions,
  ): void
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void
  override removeEventListener(
    type: string,
    listener: unknown,
    options?: boolean | EventListenerOptions,
  ): void {
    super.removeEventListener(type, listener as EventListenerOrEventListenerObject | null, options)
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
      this.addEventListener(type, (event) =>
        this.#handlers[type]?.call(this as unknown as EventSource, event),
      )
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
    const win = globalThis as { addEventListener?: typeof addEventListener; document?: Document }
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
    const inBrowser = typeof win.addEventListener === 'function' && doc !== undefined
    if (inBrowser) {
      globalThis.addEventListener('online', onOnline)
      doc.addEventListener('visibilitychange', onVisibility)
    }
    this.#detach = () => {
      signal?.removeEventListener('abort', onAbort)
      if (inBrowser) {
        globalThis.removeEventListener('online', onOnline)
        doc.removeEventListener('visibilitychange', onVisibility)
      }
    }
  }

  /** How long a silent stream is presumed dead: `heartbeatTimeout`, else HIDDEN_STREAM_DEAD_MS. */
  #silenceLimit(): number {
    const limit = this.#init.heartbeatTimeout ?? 0
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
    // [spec] "If the EventSource object's last event ID string is not the empty string, then: Let
    // lastEventIDValue be the EventSource object's last event ID string, encoded as UTF-8. Set
    // (`Last-Event-ID`, lastEventIDValue) in request's header list." A header value is a byte string,
    // so each UTF-8 byte becomes one character (an id such as "é" would otherwise make fetch throw).
    if (this.#lastEventId !== '') {
      headers.set('last-event-id', String.fromCharCode(...new TextEncoder().encode(this.#lastEventId)))
    }
    let response: Promise<Response>
    try {
      response = (init.fetch ?? globalThis.fetch)(this.url, {
        method: init.method ?? 'GET',
        headers,
        body: init.body,
        credentials: init.credentials ?? (this.withCredentials ? 'include' : 'same-origin'),
        cache: 'no-store',
        redirect: 'follow',
        signal: conn.controller.signal,
      })
    } catch (error) {
      response = Promise.reject(error) // an injected fetch that throws is a network error like any other
    }
    response.then(
      (res) => this.#onResponse(conn, res),
      (error: unknown) => this.#onNetworkError(conn, error),
    )
  }

  #onResponse(conn: Connection, response: Response): void {
    if (conn !== this.#conn) {
      response.body?.cancel().catch(() => undefined)
      return
    }
    const status = response.status
    const type = response.headers.get('content-type')
    if (status !== 200) {
      response.body?.cancel().catch(() => undefined)
      if (!this.#init.strict && RETRYABLE_STATUS.has(status)) {
        // Lifeline's extension: an overloaded or restarting server is retried, after its Retry-After.
        const after = parseRetryAfter(response.headers.get('retry-after'), this.#clock.now())
        this.#reestablish(
          new LifelineError(
            'LIFELINE_ERR_CLIENT_RETRYABLE_STATUS',
            `the server answered ${status}; reconnecting with backoff`,
          ),
          status,
          after,
        )
        return
      }
      // [spec] "Otherwise, if res's status is not 200, or if res's `Content-Type` is not
      // `text/event-stream`, then fail the connection." (204 is the server's way to say "stop".)
      this.#fail(
        new LifelineError(
          'LIFELINE_ERR_CLIENT_STATUS',
          `the server answered ${status} instead of 200: not reconnecting (a 204 means the server asks the client to stop)`,
        ),
        status,
      )
      return
    }
    if (mimeEssence(type) !== EVENT_STREAM) {
      response.body?.cancel().catch(() => undefined)
      this.#fail(
        new LifelineError(
          'LIFELINE_ERR_CLIENT_CONTENT_TYPE',
          `the response's Content-Type is ${type === null ? 'missing' : `"${type}"`}, not text/event-stream: not reconnecting`,
        ),
        status,
      )
      return
    }
    // [spec] "... its origin attribute to the serialization of the origin of the event stream's final
    // URL (i.e., the URL after redirects)".
    this.#origin = new URL(response.url || this.url).origin
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
    const body = response.body
    if (body === null) {
      this.#streamEnded(conn)
      return
    }
    this.#read(conn, body.getReader())
  }

  async #read(conn: Connection, reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (conn !== this.#conn) return
        if (done) break
        conn.lastByteAt = this.#clock.now()
        this.#parser.push(value)
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
    this.#reestablish(new LifelineError('LIFELINE_ERR_CLIENT_STREAM_ENDED', 'the stream ended; reconnecting'))
  }

  #onNetworkError(conn: Connection, error: unknown): void {
    // A heartbeat abort keeps the connection current until its failure arrives here.
    if (conn !== this.#conn) return
    this.#parser.end()
    if (conn.abortedFor === 'heartbeat') {
      this.#reestablish(
        new LifelineError(
          'LIFELINE_ERR_CLIENT_HEARTBEAT_TIMEOUT',
          `no byte arrived for ${this.#silenceLimit()} ms (heartbeatTimeout); reconnecting`,
        ),
      )
      return
    }
    // [spec] "Otherwise, if res is a network error, then reestablish the connection, unless the user
    // agent knows that to be futile, in which case the user agent may fail the connection."
    this.#reestablish(
      new LifelineError('LIFELINE_ERR_CLIENT_NETWORK', `network error (${describe(error)}); reconnecting`, {
        cause: error,
      }),
    )
  }

  /** No byte for `heartbeatTimeout` ms: abort this connection. One timer, re-armed lazily, not per chunk. */
  #armWatchdog(conn: Connection): void {
    const limit = this.#init.heartbeatTimeout ?? 0
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

  #reestablish(reason: LifelineError, status?: number, retryAfter?: number): void {
    // [spec] "If the readyState attribute is set to CLOSED, abort the task."
    if (this.#readyState === CLOSED) return
    this.#stop('replaced')
    const attempt = this.#attempt + 1
    if (attempt > this.#retry.maxAttempts) {
      this.#fail(
        new LifelineError(
          'LIFELINE_ERR_CLIENT_MAX_ATTEMPTS',
          `gave up after ${this.#retry.maxAttempts} reconnect attempts (retry.maxAttempts); last: ${reason.message}`,
          { cause: reason },
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

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message
  }
  return String(error)
}
