import type { Socket } from 'node:net'
import { LifelineError } from '../protocol/errors.ts'
import { pickLastEventId } from '../server/last-event-id.ts'
import type { Hub, Rejection, StreamHandle, StreamSink, SubscribeOptions } from '../server/types.ts'

/**
 * What a handler may set instead of the request's own values; each field left out is read from the
 * request: `topics` from `?topic=` (repeatable), `lastEventId` from the `Last-Event-ID` header, else
 * the `lastEventId` query parameter, `remoteAddress` from the socket, `userAgent` from the header.
 */
export type AdapterOptions = Partial<SubscribeOptions> & {
  /** Called with the open stream (its `signal`, `info()`, `close()`); `handleFetch` returns only a Response. */
  onStream?: (stream: StreamHandle) => void
  /** `handleFetch` on Node only: the request's TCP socket (Hono on @hono/node-server:
   *  `c.env.incoming.socket`), so the stream gets Nagle off, keepalive and TCP_USER_TIMEOUT as the
   *  node adapter gives it. Left out: the runtime's own socket settings apply. */
  socket?: Socket | undefined
}

/** The parts of a request every adapter can read, whatever the framework. */
export interface RequestFacts {
  readonly url: URL
  readonly lastEventIdHeader: string | undefined
  readonly userAgent: string | undefined
  readonly remoteAddress: string | undefined
}

/** Any absolute base: only the path and query of a request URL are read. */
const URL_BASE = 'http://localhost'

export function parseRequestUrl(raw: string | undefined): URL {
  try {
    return new URL(raw ?? '/', URL_BASE)
  } catch {
    // An unparseable target has no query: topics must then come from the handler's options.
    return new URL('/', URL_BASE)
  }
}

export function subscribeOptions(facts: RequestFacts, overrides: AdapterOptions = {}): SubscribeOptions {
  const query = facts.url.searchParams
  return {
    topics: overrides.topics ?? query.getAll('topic'),
    lastEventId:
      'lastEventId' in overrides
        ? overrides.lastEventId
        : pickLastEventId(facts.lastEventIdHeader, query.get('lastEventId')),
    remoteAddress: overrides.remoteAddress ?? facts.remoteAddress ?? 'unknown',
    userAgent: overrides.userAgent ?? facts.userAgent ?? '',
    expiresAt: overrides.expiresAt,
    from: overrides.from ?? query.get('from') ?? undefined,
  }
}

/** An HTTP error answer: status, headers and the JSON body `{ error, message }` (docs/design.md §5). */
export interface ErrorAnswer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

/** The answer to a refusal: its status, `Retry-After` and the JSON reason. */
export function rejectionAnswer(rejection: Rejection): ErrorAnswer {
  return {
    status: rejection.status,
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'Retry-After': String(rejection.retryAfterSeconds),
      'Cache-Control': 'no-store',
    },
    body: JSON.stringify({ error: rejection.error, message: rejection.message }),
  }
}

/**
 * A `LifelineError` from `hub.open` (a bad topic, a bad query) is answered with the status and JSON
 * `error` its code implies (LIFELINE_ERRORS), as the hub answers it; anything else is not ours to answer.
 */
function errorAnswer(error: unknown): ErrorAnswer {
  if (!(error instanceof LifelineError)) throw error
  return {
    status: error.status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' },
    body: JSON.stringify(error),
  }
}

/**
 * Opens the stream on the hub, or says what to answer instead: a refusal (503/429 + Retry-After) or
 * a bad request (400). Every adapter goes through here, so they refuse alike.
 */
export function openOrAnswer(
  hub: Hub,
  sink: StreamSink,
  sub: SubscribeOptions,
  options: AdapterOptions | undefined,
): { readonly stream: StreamHandle } | { readonly answer: ErrorAnswer } {
  let result: ReturnType<Hub['open']>
  try {
    result = hub.open(sink, sub)
  } catch (error) {
    return { answer: errorAnswer(error) }
  }
  if (!result.ok) return { answer: rejectionAnswer(result.rejection) }
  options?.onStream?.(result.stream)
  return { stream: result.stream }
}
