/**
 * `lifeline-sse/redis`: the cluster history on Redis Streams (one stream every hub appends to and
 * reads back). The only folder that talks to Redis; it loads `ioredis` when a history is created.
 */
export type { RedisKeys } from './keys.ts'
export { DEFAULT_KEY_PREFIX, redisKeys } from './keys.ts'
export type { RedisHistoryOptions, RedisHistoryStatus } from './redis-history.ts'
export { createRedisHistory } from './redis-history.ts'
export type { RedisStreamStoreOptions } from './redis-stream-store.ts'
export { RedisStreamStore } from './redis-stream-store.ts'
export { compareStreamIds, isStreamId } from './stream-id.ts'
