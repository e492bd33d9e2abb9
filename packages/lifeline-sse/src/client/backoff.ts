/** Reconnection policy: how long to wait before the next attempt. Pure, so it is tested without time. */
export interface RetryOptions {
  /** Delay before the first reconnect after a good stream, in ms, when the server sent no `retry:`. @default 1000 */
  initialDelay?: number
  /** Upper bound of the backoff window, in ms (the server's `retry:` may still exceed it). @default 30_000 */
  maxDelay?: number
  /** Growth of the backoff window per failed attempt. @default 2. 1 keeps the window constant. */
  factor?: number
  /** Reconnect attempts in a row (without an open stream between) before giving up. @default Infinity */
  maxAttempts?: number
}

export type ResolvedRetry = Required<RetryOptions>

export const DEFAULT_RETRY: ResolvedRetry = {
  initialDelay: 1000,
  maxDelay: 30_000,
  factor: 2,
  maxAttempts: Number.POSITIVE_INFINITY,
}

export function resolveRetry(options: RetryOptions | undefined): ResolvedRetry {
  return { ...DEFAULT_RETRY, ...options }
}

/**
 * The delay in ms before reconnect attempt number `attempt` (1 = the first since the last open stream).
 *
 * [spec] "Wait a delay equal to the reconnection time of the event source." The first attempt waits
 * exactly that: the server's `retry:` (`serverRetry`), else `initialDelay`.
 * [spec] "Optionally, wait some more. In particular, if the previous attempt failed, then user agents
 * might introduce an exponential backoff delay to avoid overloading a potentially already overloaded
 * server." Later attempts draw uniformly from [0, min(maxDelay, initialDelay * factor^(attempt-1))]
 * ("full jitter", so a fleet of clients spreads out), and never go below the server's `retry:`.
 */
export function reconnectDelay(
  attempt: number,
  retry: ResolvedRetry,
  serverRetry: number | undefined,
  random: () => number,
): number {
  const floor = serverRetry ?? 0
  if (attempt <= 1) return serverRetry ?? retry.initialDelay
  const window = Math.min(retry.maxDelay, retry.initialDelay * retry.factor ** (attempt - 1))
  return Math.max(floor, Math.floor(random() * window))
}

/**
 * `Retry-After` as ms from now: delta-seconds or an HTTP-date. Undefined when absent or unreadable.
 * (RFC 9110 section 10.2.3.)
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number.parseInt(text, 10) * 1000
  // An HTTP-date names its day and month ("Sun, 06 Nov 1994 08:49:37 GMT"); Date.parse alone would
  // also read "-1" as a year.
  const at = /[a-z]/i.test(text) ? Date.parse(text) : Number.NaN
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}
