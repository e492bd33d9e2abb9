/**
 * Picks the history store from config: memory (default, built by the hub core from historySize /
 * historyTtl / historyMaxBytes), a file (`--history-file`), or Redis Streams (`--redis`, cluster mode,
 * on one Redis or, with `--redis-cluster`, a Redis Cluster; its module and ioredis load only then).
 */
import { LifelineError } from 'lifeline-sse/protocol'
import type { History } from 'lifeline-sse/server'
import { FileHistory } from 'lifeline-sse/server'
import type { ServeConfig } from './config-options.ts'
import type { Logger } from './logging.ts'

export type HistoryKind = 'memory' | 'file' | 'redis'

export function historyKind(config: ServeConfig): HistoryKind {
  return config.redis ? 'redis' : config.historyFile ? 'file' : 'memory'
}

/** undefined: let the hub build its in-memory ring. Throws LifelineError with a one-line message. */
export async function openHistory(config: ServeConfig, logger?: Logger): Promise<History | undefined> {
  const retention = { maxEvents: config.historySize, ttlMs: config.historyTtl }
  if (config.redis) {
    const { createRedisHistory } = await import('lifeline-sse/redis')
    // docs/design.md §8: a node reports ready only once it reads the stream. Start without waiting for Redis
    // (not ready, publish 503) rather than crash-loop while Redis comes up.
    return createRedisHistory({
      url: config.redis,
      keyPrefix: config.redisPrefix,
      cluster: config.redisCluster,
      ...retention,
      connectTimeoutMs: 0,
      onError: (err) => logger?.error({ err }, 'history error'),
      onStatus: (status) => {
        if (status.ready)
          logger?.info({ redis: status.url }, `history backend connected: reading ${status.url}`)
        else
          logger?.warn(
            { redis: status.url, reason: status.reason },
            `history backend not reachable (${status.reason}): /readyz and publish answer 503 until it is`,
          )
      },
    })
  }
  if (config.historyFile) {
    try {
      return await FileHistory.open({
        path: config.historyFile,
        maxBytes: config.historyMaxBytes,
        ...retention,
        onError: (err) => logger?.error({ err }, 'history error'),
      })
    } catch (err) {
      throw new LifelineError(
        'LIFELINE_ERR_HISTORY_FILE',
        `--history-file ${config.historyFile} cannot be opened (${(err as Error).message}): check the path and its permissions`,
        { cause: err },
      )
    }
  }
  return undefined
}
