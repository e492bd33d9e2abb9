/**
 * Finite streams: append-only, offset-addressed streams with a durable close, idempotent producers
 * and their own retention (docs/streams.md). Re-exported by the server core's index.
 */

export type { FileStreamStoreOptions } from './file-stream-store.ts'
export { FileStreamStore } from './file-stream-store.ts'
export type { MemoryStreamStoreOptions, StreamRecord } from './memory-stream-store.ts'
export { entriesAfter, MemoryStreamStore, STREAM_DEFAULTS, tailOf } from './memory-stream-store.ts'
export type { OffsetCodec } from './offsets.ts'
export { isOffset, offsetCodec, START_SENTINEL, TAIL_SENTINEL, ZERO_OFFSET } from './offsets.ts'
export type { ProducerCheck, ProducerState, ProducerTuple } from './producers.ts'
export { checkProducer, PRODUCER_STATE_TTL_MS, sameProducer } from './producers.ts'
export { isJoinPoint, MAX_JOIN_LAST, parseJoin, StreamReplaySource, streamHasEnded } from './stream-join.ts'
export type {
  AppendRequest,
  AppendResult,
  CreateRequest,
  CreateResult,
  DeleteResult,
  EntryCut,
  ReadResult,
  StreamChange,
  StreamConfig,
  StreamEntry,
  StreamInfo,
  StreamStore,
  StreamStoreLimits,
} from './stream-store.ts'
export { END_EVENT } from './stream-store.ts'
