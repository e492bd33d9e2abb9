/**
 * `lifeline-sse/client`: an EventSource for browsers and Node (WHATWG reconnection rules, backoff,
 * Last-Event-ID, `lifeline:reset`) and the `subscribe` helper over it (docs/client.md).
 */
export type { ResolvedRetry, RetryOptions } from './backoff.ts'
export { reconnectDelay } from './backoff.ts'
export type { LifelineEventSourceEventMap, LifelineResetData } from './event-source.ts'
export {
  kAnyEvent,
  LifelineEventSource,
  LifelineEventSource as EventSource,
  RESET_EVENT,
} from './event-source.ts'
export type { ClientClock, LifelineEventSourceInit } from './event-source-options.ts'
export type { ClientState } from './events.ts'
export { ClientErrorEvent, StateChangeEvent } from './events.ts'
export type {
  BodyLike,
  CredentialsMode,
  FetchInit,
  FetchLike,
  HeadersLike,
  ResponseLike,
} from './fetch-like.ts'
export type { LastEventIdStore, StorageLike } from './last-event-id-store.ts'
export { localStorageStore, memoryStore } from './last-event-id-store.ts'
export type { StreamEvent } from './subscribe.ts'
export { subscribe } from './subscribe.ts'
