/**
 * The resume point a request asks for: which of `Last-Event-ID` and `?lastEventId=` counts, and which
 * ids no store could have assigned (too long, not printable ASCII).
 */

/** Longest Last-Event-ID resumed from; longer ones are `malformed` and echoed cut to this length. */
export const MAX_LAST_EVENT_ID = 128
// Printable ASCII only: every id the hub assigns is, so anything else was not ours.
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/

/**
 * The resume point of a request. docs/design.md §4: the `Last-Event-ID` header wins over the `lastEventId`
 * query parameter (a browser sets the header on reconnect, so it is the newer). Empty means none: the
 * spec's EventSource sends the header only when its last event ID is not empty.
 */
export function pickLastEventId(
  header: string | undefined,
  query: string | null | undefined,
): string | undefined {
  if (header !== undefined && header !== '') return header
  if (query !== undefined && query !== null && query !== '') return query
  return undefined
}

/** True when the id cannot be one of ours whatever the store: too long or not printable ASCII. */
export function isMalformedId(id: string): boolean {
  return id.length > MAX_LAST_EVENT_ID || !PRINTABLE_ASCII.test(id)
}
