/**
 * The wire bytes the hub writes for history: a stored event (encoded once, shared by every subscriber,
 * live or replaying) and the `lifeline:reset` event a stream gets when it cannot resume.
 */
import { encodeEvent } from '../protocol/encode.ts'
import { RESET_EVENT } from '../protocol/reserved.ts'
import type { ResetReason, StoredEvent } from './history/history.ts'
import { MAX_LAST_EVENT_ID } from './last-event-id.ts'

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
