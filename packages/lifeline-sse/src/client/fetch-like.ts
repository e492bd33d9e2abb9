/**
 * The few shapes of `fetch` and the page the client uses, defined structurally here so that the
 * client's types compile in a Node-only project (no DOM lib) as well as in a browser one: the DOM's
 * `HeadersInit`, `BodyInit` and `RequestCredentials` do not exist without it.
 */

/** Request headers: what `new Headers(...)` takes (a `Headers`, a record, or name/value pairs). */
export type HeadersLike = Headers | Record<string, string> | Iterable<readonly [string, string]>

/** A request body that can be sent again on every reconnect. */
export type BodyLike = string | Blob | FormData | URLSearchParams

/** fetch's credentials mode. */
export type CredentialsMode = 'omit' | 'same-origin' | 'include'

/** What the client passes to `fetch` on each attempt. */
export interface FetchInit {
  method: string
  headers: Headers
  body: BodyLike | undefined
  credentials: CredentialsMode
  cache: 'no-store'
  redirect: 'follow'
  signal: AbortSignal
}

/**
 * What the client reads of a response. Checked at run time: anything else fails the connection with
 * `LIFELINE_ERR_CLIENT_RESPONSE_INVALID`, and a body that is not a web `ReadableStream` with
 * `LIFELINE_ERR_CLIENT_BODY_INVALID`.
 */
export interface ResponseLike {
  status: number
  url?: string
  headers: { get(name: string): string | null }
  body?: unknown
}

/** A fetch the client can use: `globalThis.fetch`, undici's, or a wrapper around either. */
export type FetchLike = (url: string, init: FetchInit) => Promise<ResponseLike>

/** The parts of `window` and `document` the client listens to (both absent outside browsers). */
export interface PageTarget {
  addEventListener(type: string, listener: () => void): void
  removeEventListener(type: string, listener: () => void): void
}

export interface PageDocument extends PageTarget {
  readonly visibilityState?: string
}

/** The DOM's listener options (`AddEventListenerOptions`), structurally. */
export interface ListenerOptions {
  capture?: boolean
  once?: boolean
  passive?: boolean
  signal?: AbortSignal
}

/** The DOM's `EventListenerOrEventListenerObject`, structurally. */
export type ListenerLike = ((event: Event) => unknown) | { handleEvent(event: Event): unknown }

/**
 * `this` in event handlers: what the WHATWG `EventSource` and this client share, so a handler typed
 * for either fits both (and no DOM type is needed to name it).
 */
export interface EventSourceLike extends EventTarget {
  readonly CONNECTING: 0
  readonly OPEN: 1
  readonly CLOSED: 2
  readonly readyState: number
  readonly url: string
  readonly withCredentials: boolean
  close(): void
}
