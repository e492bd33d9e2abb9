/**
 * Redis stream ids (`<ms>-<seq>`, two unsigned 64-bit integers in decimal) as Lifeline event ids.
 * The id a client resumes with is the stream id, so any node can resume any client.
 *
 * Ids are compared as text: Redis writes them without leading zeros, so a shorter number is a smaller
 * one and equal lengths compare lexically. No BigInt per comparison on the fan-out path.
 */

/** The id before every entry: `XREAD` from here returns the whole stream. */
export const STREAM_START = '0-0'

/** 2^64 - 1: the largest part Redis accepts. */
const U64_MAX = '18446744073709551615'
/** A part of an id: `0` or a decimal without a leading zero, at most 20 digits (u64). */
const PART = /^(?:0|[1-9][0-9]{0,19})$/

function partFits(part: string): boolean {
  return PART.test(part) && (part.length < U64_MAX.length || part <= U64_MAX)
}

/** True when `id` is exactly the text Redis would write for a stream id. */
export function isStreamId(id: string): boolean {
  const dash = id.indexOf('-')
  if (dash <= 0) return false
  return partFits(id.slice(0, dash)) && partFits(id.slice(dash + 1))
}

function comparePart(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length
  return a < b ? -1 : a > b ? 1 : 0
}

/** Negative, 0 or positive as `a` is older than, equal to or newer than `b` (both valid stream ids). */
export function compareStreamIds(a: string, b: string): number {
  if (a === b) return 0
  const da = a.indexOf('-')
  const db = b.indexOf('-')
  const ms = comparePart(a.slice(0, da), b.slice(0, db))
  if (ms !== 0) return ms
  return comparePart(a.slice(da + 1), b.slice(db + 1))
}

/** Wall-clock ms at which Redis stored the entry: the `<ms>` part of its id. */
export function streamIdTime(id: string): number {
  return Number(id.slice(0, id.indexOf('-')))
}
