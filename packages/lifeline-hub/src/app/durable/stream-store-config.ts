/**
 * Picks the stream store that matches the history store (same storage): memory with the in-memory
 * ring, the history file with `--history-file`, Redis with `--redis`.
 */
import type { History, StreamStore } from 'lifeline-sse/server'
import { FileStreamStore, MemoryStreamStore } from 'lifeline-sse/server'
import type { ServeConfig } from '../config-options.ts'

/**
 * `redis`: the module `lifeline-sse/redis` loaded by the caller (cluster mode loads it for the history
 * already), so this stays synchronous.
 */
export function createStreamStore(
  config: ServeConfig,
  history: History,
  redis?: typeof import('lifeline-sse/redis'),
): StreamStore {
  const limits = {
    maxStreams: config.streamsMax,
    maxBytes: config.streamsMaxBytes,
    maxTtlSeconds: Math.floor(config.streamsMaxTtl / 1000),
  }
  if (config.redis !== undefined && redis !== undefined) {
    return new redis.RedisStreamStore({
      history,
      url: config.redis,
      cluster: config.redisCluster,
      keyPrefix: config.redisPrefix,
      ...limits,
    })
  }
  if (config.historyFile !== undefined)
    return new FileStreamStore({ history, path: config.historyFile, ...limits })
  return new MemoryStreamStore({ history, ...limits })
}
