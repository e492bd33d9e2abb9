import { encodeEvent } from '../protocol/encode.ts'
import { RESET_EVENT } from '../protocol/reserved.ts'
import type { ResetReason, StoredEvent } from './history/history.ts'

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

/**
 * `event: lifeline:reset` with `{"reason", "lastEventId"}`: the client refetches state instead of
 * missing events. `resumeFrom` (the newest id the hub holds) goes out as the event's `id:`, so the
 * client's next reconnect resumes from here instead of sending the bad id again and being reset again
 * (a browser keeps its last event id until an event carries a new one).
 */
export function encodeReset(reason: ResetReason, askedId: string | undefined, resumeFrom?: string): Buffer {
  const data = JSON.stringify({ reason, lastEventId: (askedId ?? '').slice(0, MAX_LAST_EVENT_ID) })
  return toBuffer(
    encodeEvent(
      resumeFrom === undefined ? { event: RESET_EVENT, data } : { event: RESET_EVENT, data, id: resumeFrom },
    ),
  )
}

/** The wire bytes of a stored event: encoded once per event, shared by every subscriber. */
export function encodeStored(event: StoredEvent): Buffer {
  return toBuffer(
    encodeEvent(
      event.event === undefined
        ? { id: event.id, data: event.data }
        : { id: event.id, event: event.event, data: event.data },
    ),
  )
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
