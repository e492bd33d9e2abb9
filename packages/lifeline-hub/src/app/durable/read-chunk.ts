import type { ReadResult, StreamStore } from 'lifeline-sse/server'
import { entryBytes, type PayloadKind } from './payload.ts'

/** Entries per read from the store; a response holds at most this many. */
export const CHUNK_ENTRIES = 1_000
/** Payload bytes per response (at least one entry): a catch-up of a long stream comes in chunks. */
export const CHUNK_BYTES = 1024 * 1024

/** One response's worth of entries after `after`: `upToDate` only when it reaches the tail. */
export async function readChunk(
  store: StreamStore,
  name: string,
  after: string,
  kind: PayloadKind,
  touch = true,
): Promise<ReadResult> {
  const result = await store.read(name, after, CHUNK_ENTRIES, touch)
  if (result.kind !== 'entries') return result
  let bytes = 0
  const entries = result.entries
  for (let i = 0; i < entries.length; i++) {
    bytes += entryBytes(kind, (entries[i] as { data: string }).data)
    if (bytes > CHUNK_BYTES && i > 0) return { ...result, entries: entries.slice(0, i), upToDate: false }
  }
  return result
}
