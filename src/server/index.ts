export { handleFastify } from '../adapters/fastify.ts'
export { handleFetch } from '../adapters/fetch.ts'
export { handleNode } from '../adapters/node.ts'
export type { AdapterOptions } from '../adapters/request.ts'
export { userTimeoutSupported } from '../adapters/socket.ts'
export type { ClockTarget } from './clock.ts'
export { SweepClock } from './clock.ts'
export type {
  History,
  HistoryListener,
  ReadAfterResult,
  ResetReason,
  StoredEvent,
} from './history/history.ts'
export { MemoryHistory } from './history/memory.ts'
export { createHub, SSE_HEADERS } from './hub.ts'
export { DEFAULTS } from './options.ts'
export { isMalformedId, MAX_LAST_EVENT_ID, pickLastEventId } from './resume.ts'
export { compileMatcher, TopicIndex, validateTopic } from './topics.ts'
export type {
  CloseReason,
  ConnectionInfo,
  ConnectionState,
  Hub,
  HubEvents,
  HubOptions,
  HubStats,
  OpenResult,
  Rejection,
  RejectReason,
  SinkListener,
  StreamHandle,
  StreamSink,
  SubscribeOptions,
  TransportTuning,
} from './types.ts'
