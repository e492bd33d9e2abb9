/**
 * The server core: connections, the shared clock, registry, limits, topics, history and fan-out.
 * Framework-free; the package export `lifeline-sse/server` adds the adapters (src/entry/server.ts).
 */

export type { AdmissionCounts } from './admission.ts'
export { admit } from './admission.ts'
export type { ClockTarget } from './clock.ts'
export { SweepClock } from './clock.ts'
export type { FileHistoryOptions } from './history/file-history.ts'
export { FileHistory } from './history/file-history.ts'
export type {
  History,
  HistoryErrorHandler,
  HistoryErrorOptions,
  HistoryListener,
  ReadAfterResult,
  ResetReason,
  StoredEvent,
} from './history/history.ts'
export type { MemoryHistoryOptions } from './history/memory-history.ts'
export { MemoryHistory } from './history/memory-history.ts'
export type { RemoteHistoryOptions } from './history/remote-history.ts'
export { RemoteHistory } from './history/remote-history.ts'
export type { RetentionOptions } from './history/retention.ts'
export type {
  SequencedStore,
  SequencerLink,
  SequencerReply,
  SequencerRequest,
} from './history/sequencer.ts'
export { Sequencer } from './history/sequencer.ts'
export { createHub, SSE_HEADERS } from './hub.ts'
export { DEFAULTS, resolveOptions } from './hub-options.ts'
export { isMalformedId, MAX_LAST_EVENT_ID, pickLastEventId } from './last-event-id.ts'
export { CLOSE_REASONS, REJECT_REASONS } from './reasons.ts'
export type {
  AppendRequest,
  AppendResult,
  CreateRequest,
  CreateResult,
  DeleteResult,
  EntryCut,
  FileStreamStoreOptions,
  MemoryStreamStoreOptions,
  OffsetCodec,
  ProducerCheck,
  ProducerState,
  ProducerTuple,
  ReadResult,
  StreamChange,
  StreamConfig,
  StreamEntry,
  StreamInfo,
  StreamRecord,
  StreamStore,
  StreamStoreLimits,
} from './streams/index.ts'
export {
  checkProducer,
  END_EVENT,
  entriesAfter,
  FileStreamStore,
  isJoinPoint,
  isOffset,
  MAX_JOIN_LAST,
  MemoryStreamStore,
  offsetCodec,
  PRODUCER_STATE_TTL_MS,
  parseJoin,
  START_SENTINEL,
  STREAM_DEFAULTS,
  StreamReplaySource,
  sameProducer,
  streamHasEnded,
  TAIL_SENTINEL,
  tailOf,
  ZERO_OFFSET,
} from './streams/index.ts'
export { compileMatcher, TopicIndex, validatePattern, validatePublishTopic, validateTopic } from './topics.ts'
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
