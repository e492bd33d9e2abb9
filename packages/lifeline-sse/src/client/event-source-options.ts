import { DEFAULT_MAX_EVENT_LENGTH } from '../protocol/parse.ts'
import { DEFAULT_RETRY, type ResolvedRetry, type RetryOptions } from './backoff.ts'
import type { BodyLike, CredentialsMode, FetchLike, HeadersLike } from './fetch-like.ts'
import type { LastEventIdStore } from './last-event-id-store.ts'

/** Time as the client sees it. Injected in tests; the default is the global clock and timers. */
export interface ClientClock {
  now(): number
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export interface LifelineEventSourceInit {
  /** WHATWG: send cookies/credentials cross-origin. Same as `credentials: 'include'`. @default false */
  withCredentials?: boolean
  /**
   * Extra request headers (e.g. `Authorization`). Cross-origin, any header that is not CORS-safelisted
   * makes the browser send a preflight (`OPTIONS`) first.
   */
  headers?: HeadersLike
  /** Request method. @default 'GET' */
  method?: string
  /** Request body, sent again on every reconnect (so a string, Blob, FormData or URLSearchParams). */
  body?: BodyLike
  /** fetch credentials mode. @default 'include' with `withCredentials`, else 'same-origin' */
  credentials?: CredentialsMode
  /** The fetch to use. @default globalThis.fetch */
  fetch?: FetchLike
  /** Backoff between reconnects; see RetryOptions for units and defaults. */
  retry?: RetryOptions
  /** Reconnect when no byte arrived for this many ms (set it above the server's heartbeat). @default 0 (off) */
  heartbeatTimeout?: number
  /**
   * Send the last event id on reconnect as this query parameter instead of the `Last-Event-ID` header,
   * so that a cross-origin reconnect is a CORS simple request too (no preflight). `'lastEventId'` for
   * the Lifeline hub. @default undefined (the header)
   */
  lastEventIdParam?: string
  /** Where the last event id is kept between connections (and page loads). @default memoryStore() */
  lastEventIdStore?: LastEventIdStore
  /**
   * The longest event the client accepts: characters of one event's data, or of one line not yet
   * ended. Past it the connection fails (CLOSED) with `LIFELINE_ERR_EVENT_TOO_LARGE`.
   * @default 16_777_216 (16 Mi). 0 disables the bound.
   */
  maxEventLength?: number
  /**
   * Called with each comment line of the stream (`: text`, without the colon and one leading space),
   * such as the hub's `: ping` heartbeats, while the source is OPEN. @default none (comments are dropped)
   */
  onComment?: (comment: string) => void
  /** true: the exact WHATWG rule, every non-200 status fails for good (no retry on 429/502/503/504). @default false */
  strict?: boolean
  /** Aborting it closes the EventSource. @default none */
  signal?: AbortSignal
  /** Clock and timers (tests). @default the global ones */
  clock?: ClientClock
  /** Source of jitter in [0, 1) (tests). @default Math.random */
  random?: () => number
}

/** The options after checking, with defaults applied where the client reads them often. */
export interface CheckedInit {
  init: LifelineEventSourceInit
  retry: ResolvedRetry
  heartbeatTimeout: number
  maxEventLength: number
}

const CREDENTIALS: readonly unknown[] = ['omit', 'same-origin', 'include']

/**
 * Checks every option's type and range, so a mistake (`heartbeatTimeout: '45s'`, a negative delay)
 * throws at construction with the option's name instead of misbehaving later: a TypeError for a wrong
 * type, a RangeError for a number out of range. `null` or `undefined` mean no options (as WebIDL does).
 */
export function checkInit(given: LifelineEventSourceInit | null | undefined): CheckedInit {
  const init: LifelineEventSourceInit = given ?? {}
  if (typeof init !== 'object') fail('options', 'an object', init)
  for (const [name, type] of [
    ['method', 'string'],
    ['fetch', 'function'],
    ['onComment', 'function'],
    ['random', 'function'],
    ['strict', 'boolean'],
  ] as const) {
    if (init[name] !== undefined && typeof init[name] !== type) fail(name, `a ${type}`, init[name])
  }
  if (init.credentials !== undefined && !CREDENTIALS.includes(init.credentials)) {
    fail('credentials', "'omit', 'same-origin' or 'include'", init.credentials)
  }
  const param = init.lastEventIdParam
  if (param !== undefined && (typeof param !== 'string' || param === ''))
    fail('lastEventIdParam', 'a non-empty string', param)
  methods(init.lastEventIdStore, 'lastEventIdStore', ['get', 'set'])
  methods(init.clock, 'clock', ['now', 'setTimeout', 'clearTimeout'])
  methods(init.signal, 'signal', ['addEventListener', 'removeEventListener'])
  const retry = init.retry
  if (retry !== undefined && (retry === null || typeof retry !== 'object')) fail('retry', 'an object', retry)
  const maxAttempts = number(retry?.maxAttempts, 'retry.maxAttempts', DEFAULT_RETRY.maxAttempts, 0)
  if (maxAttempts !== Number.POSITIVE_INFINITY && !Number.isInteger(maxAttempts)) {
    fail('retry.maxAttempts', 'a whole number or Infinity', maxAttempts, RangeError)
  }
  return {
    init,
    retry: {
      initialDelay: number(retry?.initialDelay, 'retry.initialDelay', DEFAULT_RETRY.initialDelay, 0),
      maxDelay: number(retry?.maxDelay, 'retry.maxDelay', DEFAULT_RETRY.maxDelay, 0),
      factor: number(retry?.factor, 'retry.factor', DEFAULT_RETRY.factor, 1),
      maxAttempts,
    },
    heartbeatTimeout: number(init.heartbeatTimeout, 'heartbeatTimeout', 0, 0),
    maxEventLength: number(init.maxEventLength, 'maxEventLength', DEFAULT_MAX_EVENT_LENGTH, 0),
  }
}

/** Throws `LifelineEventSource option <name> must be <rule>, got <value>`. */
function fail(option: string, rule: string, value: unknown, type: typeof TypeError = TypeError): never {
  const got =
    typeof value === 'string'
      ? `"${value}" (a string)`
      : typeof value === 'object' && value !== null
        ? 'an object'
        : String(value)
  throw new type(`LifelineEventSource option ${option} must be ${rule}, got ${got}`)
}

/** A number of at least `min` (ms, or a count; only maxAttempts may be Infinity); undefined gives the default. */
function number(value: unknown, option: string, fallback: number, min: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || Number.isNaN(value)) fail(option, 'a number', value)
  if (value < min || (value === Number.POSITIVE_INFINITY && option !== 'retry.maxAttempts')) {
    fail(option, `a finite number >= ${min}`, value, RangeError)
  }
  return value
}

function methods(value: unknown, option: string, names: readonly string[]): void {
  if (
    value !== undefined &&
    names.some((name) => typeof (value as Record<string, unknown> | null)?.[name] !== 'function')
  ) {
    fail(option, `an object with ${names.join(', ')} methods`, value)
  }
}
