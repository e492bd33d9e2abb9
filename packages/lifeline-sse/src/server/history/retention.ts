/** Retention options shared by the memory and file stores, with their defaults. */

/** @default 10_000 events. */
export const DEFAULT_MAX_EVENTS = 10_000
/** @default 64 MiB. */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024
/** @default 1 h. */
export const DEFAULT_TTL_MS = 3_600_000

export interface RetentionOptions {
  /** Events kept; the oldest go first. @default 10_000. 0 keeps none (every resume but from the newest id resets). */
  maxEvents?: number
  /**
   * Payload bytes kept: data + event name + topics. The memory ring counts what the strings hold in
   * memory (1 byte per character for Latin-1 text, 2 for text with any character above U+00FF); the
   * file counts UTF-8 bytes (what it stores). @default 64 MiB.
   */
  maxBytes?: number
  /** Oldest age kept, ms; trimmed lazily on append and read (no timer). @default 3_600_000 (1 h). 0 = no age limit. */
  ttlMs?: number
  /** Wall clock in ms, for age retention and `StoredEvent.time`. @default Date.now */
  now?: () => number
}

export interface Retention {
  readonly maxEvents: number
  readonly maxBytes: number
  readonly ttlMs: number
  readonly now: () => number
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!(value >= 0))
    throw new RangeError(`history option ${name} must be a number >= 0, got ${String(value)}`)
  return value
}

export function retention(options: RetentionOptions = {}): Retention {
  return {
    maxEvents: Math.floor(nonNegative('maxEvents', options.maxEvents, DEFAULT_MAX_EVENTS)),
    maxBytes: nonNegative('maxBytes', options.maxBytes, DEFAULT_MAX_BYTES),
    ttlMs: nonNegative('ttlMs', options.ttlMs, DEFAULT_TTL_MS),
    now: options.now ?? Date.now,
  }
}

// Any character above U+00FF: V8 then stores the whole string at 2 bytes per character.
const TWO_BYTE = /[^\x00-\xff]/

/**
 * Bytes a string occupies in memory: V8 stores a string whose characters are all Latin-1 at one byte
 * per character, any other at two (UTF-16), whatever its UTF-8 length.
 */
export function heldBytes(s: string): number {
  return TWO_BYTE.test(s) ? 2 * s.length : s.length
}

/** What an event counts for in the memory ring's `maxBytes`: the bytes its strings hold in memory. */
export function eventHeldBytes(topics: readonly string[], data: string, event: string | undefined): number {
  let n = heldBytes(data) + (event === undefined ? 0 : heldBytes(event))
  // Topics are ASCII (validated), so one byte per character.
  for (const t of topics) n += t.length
  return n
}

/** What an event counts for in the file's `maxBytes`: UTF-8 bytes (as stored) of data, event name and topics. */
export function eventBytes(topics: readonly string[], data: string, event: string | undefined): number {
  let n = Buffer.byteLength(data) + (event === undefined ? 0 : Buffer.byteLength(event))
  // Topics are ASCII (validated), so one byte per character.
  for (const t of topics) n += t.length
  return n
}
