/**
 * Picks the stream store that matches the history store (same storage): memory with the in-memory
 * ring, the history file with `--history-file`, Redis with `--redis`.
 */
import type { History, StreamStore } from 'lifeline-sse/server'
import { FileStreamStore, MemoryStreamStore } from 'lifeline-sse/server'
import type { ServeConfig } from '../config-options.ts'

export function createStreamStore(config: ServeConfig, history: History): StreamStore {
  const limits = {
    maxStreams: config.streamsMax,
    maxBytes: config.streamsMaxBytes,
    maxTtlSeconds: Math.floor(config.streamsMaxTtl / 1000),
  }
  if (config.historyFile !== undefined)
    return new FileStreamStore({ history, path: config.historyFile, ...limits })
  return new MemoryStreamStore({ history, ...limits })
}
