/**
 * Finite streams: append-only, offset-addressed streams with a durable close, idempotent producers
 * and their own retention (docs/streams.md). Re-exported by the server core's index.
 */

export * from './file-stream-store.ts'
export * from './memory-stream-store.ts'
export * from './offsets.ts'
export * from './producers.ts'
export * from './stream-join.ts'
export * from './stream-store.ts'
