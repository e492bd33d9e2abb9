import { LifelineError } from './errors.ts'
import type { SseEvent } from './types.ts'

// One encoder for the process: TextEncoder is stateless, and hoisting it saves an allocation per event.
const utf8 = new TextEncoder()

// CR, LF or NUL in `event` / `id` would let a value start a new field or end the event: SSE injection.
const FORBIDDEN_IN_FIELD = /[\r\n\0]/
// [spec] "Lines must be separated by either a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF) character
// pair, a single U+000A LINE FEED (LF) character, or a single U+000D CARRIAGE RETURN (CR) character."
const LINE_BREAKS = /\r\n|\r|\n/g
const HAS_LINE_BREAK = /[\r\n]/

function checkField(name: 'event' | 'id', value: string): void {
  if (FORBIDDEN_IN_FIELD.test(value)) {
    throw new LifelineError(
      name === 'event' ? 'LIFELINE_ERR_EVENT_NAME_INVALID' : 'LIFELINE_ERR_EVENT_ID_INVALID',
      `event ${name} ${JSON.stringify(value.slice(0, 64))} contains CR, LF or NUL: remove line breaks and NUL characters from it`,
    )
  }
}

/**
 * The one rule for an event name's bytes (no CR, LF or NUL), shared by the encoder, the hub core's
 * publish and the hub app's publish route, so a name the route accepts can never fail later.
 * Throws `LifelineError` `LIFELINE_ERR_EVENT_NAME_INVALID`.
 */
export function checkEventName(name: string): void {
  checkField('event', name)
}

function checkRetry(retry: number): void {
  if (!Number.isSafeInteger(retry) || retry < 0) {
    throw new LifelineError(
      'LIFELINE_ERR_RETRY_INVALID',
      `retry ${String(retry)} is invalid: use a non-negative integer number of milliseconds`,
    )
  }
}

/**
 * The event's wire text. Each line of `data` becomes its own `data: ` line (the space keeps a line
 * that starts with a space intact, because the parser strips exactly one).
 */
export function formatEvent(event: SseEvent): string {
  let out = ''
  if (event.id !== undefined) {
    checkField('id', event.id)
    out += `id: ${event.id}\n`
  }
  if (event.event !== undefined) {
    checkEventName(event.event)
    out += `event: ${event.event}\n`
  }
  if (event.retry !== undefined) {
    checkRetry(event.retry)
    out += `retry: ${event.retry}\n`
  }
  const data = event.data
  // One pass: every line break becomes the start of the next `data:` line (no array of lines).
  out += HAS_LINE_BREAK.test(data) ? `data: ${data.replace(LINE_BREAKS, '\ndata: ')}\n` : `data: ${data}\n`
  return `${out}\n`
}

/** Encodes an event once; write the same bytes to every subscriber. Throws `LifelineError` on bad fields. */
export function encodeEvent(event: SseEvent): Uint8Array {
  return utf8.encode(formatEvent(event))
}

/** A comment block (`: text`), e.g. a heartbeat. Comments are ignored by every EventSource. */
export function encodeComment(text = ''): Uint8Array {
  if (HAS_LINE_BREAK.test(text)) {
    throw new LifelineError(
      'LIFELINE_ERR_COMMENT_INVALID',
      'a comment cannot contain CR or LF: send one line',
    )
  }
  return utf8.encode(text === '' ? ':\n\n' : `: ${text}\n\n`)
}

/** A lone `retry:` field: tells the client how long to wait before it reconnects. */
export function encodeRetry(ms: number): Uint8Array {
  checkRetry(ms)
  return utf8.encode(`retry: ${ms}\n\n`)
}
