/**
 * Picks the stream store that matches the history store (same storage): memory with the in-memory
 * ring, the history file with `--history-file`, Redis with `--redis`.
 */
import type { History } from '../../server/history/history.ts'
import { FileStreamStore } from '../../server/streams/file-stream-store.ts'
import { MemoryStreamStore } from '../../server/streams/memory-stream-store.ts'
import type { StreamStore } from '../../server/streams/stream-store.ts'
import type { HubConfig } from '../options.ts'

export function createStreamStore(config: HubConfig, history: History): StreamStore {
  const limits = {
    maxStreams: config.streamsMax,
    maxBytes: config.streamsMaxBytes,
    maxTtlSeconds: Math.floor(config.streamsMaxTtl / 1000),
  }
  if (config.historyFile !== undefined)
    return new FileStreamStore({ history, path: config.historyFile, ...limits })
  return new MemoryStreamStore({ history, ...limits })
}
