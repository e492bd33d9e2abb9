import { LifelineError } from './errors.ts'
import type { ParserCallbacks, ParserOptions } from './types.ts'

const BOM = '\uFEFF'
const NUL = '\0'

const SPACE = 32
const COLON = 58
const CHAR_D = 100 // d(ata)
const CHAR_A = 97
const CHAR_T = 116
const CHAR_V = 118
const CHAR_N = 110
const CHAR_Y = 121
const CHAR_E = 101 // e(vent)
const CHAR_I = 105 // i(d)
const CHAR_R = 114 // r(etry)
const LF = 10
const ALL_DIGITS = /^[0-9]+$/

/**
 * Default bound of `maxEventLength`: 16 Mi characters (16-32 MiB of memory). Above the largest events
 * real streams carry (a 10 MiB one-line payload passes), far below what exhausts a browser tab.
 */
export const DEFAULT_MAX_EVENT_LENGTH = 16 * 1024 * 1024

/**
 * A streaming implementation of the WHATWG "interpret an event stream" algorithm
 * (HTML Living Standard, section 9.2.6). Feed it chunks as they arrive, in any sizes; it calls back
 * with each dispatched event. One parser reads one stream at a time: call `reset()` before the next
 * connection, which keeps the last event id as the spec keeps it on the EventSource.
 *
 * Shape: text is scanned with `indexOf` over the whole chunk (no per-character loop in JS), and the
 * position of the next CR and of the next LF are remembered between lines, so a chunk without any CR
 * is not rescanned for one at every line (that would be quadratic in the chunk's size). Work per push is
 * proportional to the chunk, never to the line carried over from earlier chunks: that line is appended
 * to (a rope in V8, O(1)) and only read when its line break arrives.
 *
 * Bounded: the data of one event and a line carried between chunks may hold at most `maxEventLength`
 * characters; past it `push` throws `LIFELINE_ERR_EVENT_TOO_LARGE` and drops what it buffered.
 */
export class EventStreamParser {
  #callbacks: ParserCallbacks
  #decoder = new TextDecoder('utf-8', { ignoreBOM: false })
  /** The part of a line that has not seen its line break yet. */
  #pending = ''
  /** The previous chunk ended with CR: an LF at the start of the next one belongs to it (CRLF). */
  #skipLF = false
  /** Nothing of this stream was read yet: a leading BOM is still to be stripped (string input). */
  #atStart = true
  #data = ''
  #hasData = false
  #eventType = ''
  #idBuffer: string
  /** The text being parsed (this chunk, or the line carried over) may hold a NUL: ids must be checked. */
  #mayHoldNul = false
  /** `#pending` may hold a NUL. Kept with it, so a chunk never searches the carried-over line again. */
  #pendingMayHoldNul = false
  #lastEventId: string
  /** The bound (characters); Infinity when disabled. */
  #maxLength: number
  /** Set when the bound was exceeded: the rest of this stream is unreadable until `reset()`. */
  #overflow: LifelineError | undefined

  constructor(callbacks: ParserCallbacks, options: ParserOptions = {}) {
    this.#callbacks = callbacks
    this.#lastEventId = options.lastEventId ?? ''
    this.#idBuffer = this.#lastEventId
    const max = options.maxEventLength ?? DEFAULT_MAX_EVENT_LENGTH
    if (typeof max !== 'number' || !(max >= 0)) {
      throw new RangeError(`maxEventLength must be a number >= 0 (0 disables the bound), got ${String(max)}`)
    }
    this.#maxLength = max === 0 ? Number.POSITIVE_INFINITY : max
  }

  /** The last event id string: set when an event block ends, never from an unterminated block. */
  get lastEventId(): string {
    return this.#lastEventId
  }

  /**
   * Feed bytes (decoded as UTF-8, multi-byte characters may be split across chunks) or text.
   * Throws a LifelineError `LIFELINE_ERR_EVENT_TOO_LARGE` when an event's data or an unfinished line
   * grows past `maxEventLength` (and again on every push until `reset()`): what was buffered is dropped.
   */
  push(chunk: Uint8Array | string): void {
    if (this.#overflow !== undefined) throw this.#overflow
    let text: string
    if (typeof chunk === 'string') {
      text = chunk
      // [spec] "One leading U+FEFF BYTE ORDER MARK character must be ignored if any are present."
      // (The TextDecoder strips it for byte input.)
      if (this.#atStart && text.length > 0) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(BOM.length)
        this.#atStart = false
      }
    } else {
      text = this.#decoder.decode(chunk, { stream: true })
      if (text.length > 0) this.#atStart = false
    }
    const len = text.length
    if (len === 0) return
    // One search per chunk instead of one per `id:` line: real streams carry no NUL at all. The line
    // carried over is never searched again (that was quadratic in its length): its flag is kept.
    const mayHoldNul = text.includes(NUL) || this.#pendingMayHoldNul
    this.#mayHoldNul = mayHoldNul
    let pos = 0
    if (this.#skipLF) {
      this.#skipLF = false
      if (text.charCodeAt(0) === LF) pos = 1
    }
    // Read once: only the first line of a chunk can continue a line from the previous chunk.
    let pending = this.#pending
    if (text.indexOf('\r', pos) === -1) {
      // Fast path, most streams: no CR in the chunk, so LF alone ends lines and one search per line
      // does (no CR bookkeeping).
      let end = text.indexOf('\n', pos)
      if (end !== -1 && pending.length > 0) {
        const line = pending + text.slice(pos, end)
        pending = this.#pending = ''
        this.#pendingMayHoldNul = false
        this.#line(line, 0, line.length)
        pos = end + 1
        end = text.indexOf('\n', pos)
      }
      while (end !== -1) {
        // The two commonest lines are handled here, not in #line: a `data:` line, and a `data:` line
        // that is the whole event (the blank line follows), which is dispatched at once, skipping the
        // blank line and the data buffer. Anything else, and `data` without a colon, goes to #line.
        if (
          text.charCodeAt(pos) === CHAR_D &&
          text.charCodeAt(pos + 4) === COLON &&
          text.charCodeAt(pos + 1) === CHAR_A &&
          text.charCodeAt(pos + 2) === CHAR_T &&
          text.charCodeAt(pos + 3) === CHAR_A
        ) {
          const value = text.slice(
            text.charCodeAt(pos + 5) === SPACE && pos + 5 < end ? pos + 6 : pos + 5,
            end,
          )
          if (!this.#hasData && text.charCodeAt(end + 1) === LF) {
            this.#emit(value)
            pos = end + 2
          } else {
            if (this.#hasData) this.#data += `\n${value}`
            else {
              this.#data = value
              this.#hasData = true
            }
            pos = end + 1
          }
        } else {
          this.#line(text, pos, end)
          pos = end + 1
        }
        end = text.indexOf('\n', pos)
      }
      if (pos < len) this.#carry(pending, pos === 0 ? text : text.slice(pos), mayHoldNul)
      else if (this.#data.length > this.#maxLength) this.#tooLarge()
      return
    }
    let nextLF = -2 // -2: not looked up yet in this chunk; -1: none left
    let nextCR = -2
    while (pos < len) {
      if (nextLF !== -1 && nextLF < pos) nextLF = text.indexOf('\n', pos)
      if (nextCR !== -1 && nextCR < pos) nextCR = text.indexOf('\r', pos)
      let end: number
      if (nextLF === -1) end = nextCR
      else if (nextCR === -1) end = nextLF
      else end = Math.min(nextLF, nextCR)
      if (end === -1) {
        this.#carry(pending, pos === 0 ? text : text.slice(pos), mayHoldNul)
        return
      }
      if (pending.length > 0) {
        const line = pending + text.slice(pos, end)
        pending = this.#pending = ''
        this.#pendingMayHoldNul = false
        this.#line(line, 0, line.length)
      } else {
        // The line is processed in place, as a range of the chunk: no string per line.
        this.#line(text, pos, end)
      }
      if (end === nextCR) {
        // [spec] CRLF is one line break. A CR at the very end of a chunk ends the line now (no waiting
        // for the next chunk); a following LF at the start of the next chunk is then skipped.
        const after = end + 1
        if (after === len) {
          this.#skipLF = true
          pos = len
        } else {
          pos = text.charCodeAt(after) === LF ? after + 1 : after
        }
      } else {
        pos = end + 1
      }
    }
    if (this.#data.length > this.#maxLength) this.#tooLarge()
  }

  /**
   * Keep the unfinished end of a chunk for the next one. `pending + rest` makes a rope (no copy) and
   * nothing reads it before its line break arrives, so a line spread over many chunks costs each chunk
   * only its own length. Checked against the bound here, once per chunk.
   */
  #carry(pending: string, rest: string, mayHoldNul: boolean): void {
    const line = pending + rest
    this.#pending = line
    this.#pendingMayHoldNul = mayHoldNul
    if (line.length + this.#data.length > this.#maxLength) this.#tooLarge()
  }

  /** Past the bound: drop the buffers (the memory is the point) and refuse this stream from now on. */
  #tooLarge(): never {
    const held = this.#pending.length + this.#data.length
    this.reset()
    this.#overflow = new LifelineError(
      'LIFELINE_ERR_EVENT_TOO_LARGE',
      `an event or line of the stream grew past maxEventLength (${this.#maxLength} characters; ${held} buffered) before it ended: dropped; raise maxEventLength if the server sends events this large`,
    )
    throw this.#overflow
  }

  /** The stream ended. [spec] "If the file ends in the middle of an event ... the incomplete event is not dispatched." */
  end(): void {
    this.reset()
  }

  /** Forget everything of the current stream except the last event id, ready for a new connection. */
  reset(): void {
    this.#decoder = new TextDecoder('utf-8', { ignoreBOM: false })
    this.#pending = ''
    this.#pendingMayHoldNul = false
    this.#overflow = undefined
    this.#skipLF = false
    this.#atStart = true
    this.#data = ''
    this.#hasData = false
    this.#eventType = ''
    this.#idBuffer = this.#lastEventId
  }

  /**
   * The value of a field whose name (already matched, `nameLength` characters from `start`) must be
   * followed by a colon or the end of the line; undefined when the name goes on (another field).
   * [spec] "If the line contains a U+003A COLON character (:): Collect the characters on the line before
   * the first U+003A COLON character (:), and let field be that string. Collect the characters on the
   * line after the first U+003A COLON character (:), and let value be that string. If value starts with
   * a U+0020 SPACE character, remove it from value. Otherwise, [...] using the whole line as the field
   * name, and the empty string as the field value."
   * Fields are recognised in place by character codes, so a line is never searched for its colon and
   * no field-name string is made.
   */
  #valueAfter(s: string, start: number, end: number, nameLength: number): string | undefined {
    const colon = start + nameLength
    if (colon === end) return ''
    if (colon > end || s.charCodeAt(colon) !== COLON) return undefined
    return s.slice(s.charCodeAt(colon + 1) === SPACE && colon + 1 < end ? colon + 2 : colon + 1, end)
  }

  /** One line: `s` from `start` to `end` (exclusive; the line break is not part of it). */
  #line(s: string, start: number, end: number): void {
    // [spec] "If the line is empty (a blank line): Dispatch the event."
    if (start === end) {
      this.#dispatch()
      return
    }
    let value: string | undefined
    switch (s.charCodeAt(start)) {
      case COLON:
        // [spec] "If the line starts with a U+003A COLON character (:): Ignore the line."
        this.#callbacks.onComment?.(s.slice(s.charCodeAt(start + 1) === SPACE ? start + 2 : start + 1, end))
        return
      case CHAR_D:
        // d-a-t-a, compared by character code.
        if (s.charCodeAt(start + 1) !== CHAR_A || s.charCodeAt(start + 2) !== CHAR_T) return
        if (s.charCodeAt(start + 3) !== CHAR_A || (value = this.#valueAfter(s, start, end, 4)) === undefined)
          return
        // [spec] "Append the field value to the data buffer, then append a single U+000A LINE FEED (LF)
        // character to the data buffer." Kept without the final LF, which dispatch removes anyway.
        if (this.#hasData) this.#data += `\n${value}`
        else {
          this.#data = value
          this.#hasData = true
        }
        return
      case CHAR_E:
        // [spec] "Set the event type buffer to the field value."
        if (
          s.charCodeAt(start + 1) !== CHAR_V ||
          s.charCodeAt(start + 2) !== CHAR_E ||
          s.charCodeAt(start + 3) !== CHAR_N
        )
          return
        if (
          s.charCodeAt(start + 4) === CHAR_T &&
          (value = this.#valueAfter(s, start, end, 5)) !== undefined
        ) {
          this.#eventType = value
        }
        return
      case CHAR_I:
        // [spec] "If the field value does not contain U+0000 NULL, then set the last event ID buffer to
        // the field value. Otherwise, ignore the field."
        if (s.charCodeAt(start + 1) !== CHAR_D || (value = this.#valueAfter(s, start, end, 2)) === undefined)
          return
        if (!this.#mayHoldNul || !value.includes(NUL)) this.#idBuffer = value
        return
      case CHAR_R:
        // [spec] "If the field value consists of only ASCII digits, then interpret the field value as an
        // integer in base ten, and set the event stream's reconnection time to that integer. Otherwise,
        // ignore the field."
        if (
          s.charCodeAt(start + 1) !== CHAR_E ||
          s.charCodeAt(start + 2) !== CHAR_T ||
          s.charCodeAt(start + 3) !== CHAR_R
        )
          return
        if (s.charCodeAt(start + 4) !== CHAR_Y || (value = this.#valueAfter(s, start, end, 5)) === undefined)
          return
        if (ALL_DIGITS.test(value)) {
          this.#callbacks.onRetry?.(Number.parseInt(value, 10))
        }
        return
      default:
        // [spec] "Otherwise: The field is ignored." (Any other field name.)
        return
    }
  }

  #dispatch(): void {
    // [spec] "1. Set the last event ID string of the event source to the value of the last event ID buffer."
    this.#lastEventId = this.#idBuffer
    // [spec] "2. If the data buffer is an empty string, set the data buffer and the event type buffer to
    // the empty string and return." (The buffer is empty exactly when no `data` field was seen.)
    if (!this.#hasData) {
      this.#eventType = ''
      return
    }
    const data = this.#data
    this.#data = ''
    this.#hasData = false
    this.#emit(data)
  }

  /** Dispatch an event of `data` (steps 3-8 of "dispatch the event", the data buffer already empty). */
  #emit(data: string): void {
    this.#lastEventId = this.#idBuffer
    const type = this.#eventType === '' ? 'message' : this.#eventType
    this.#eventType = ''
    this.#callbacks.onEvent({ type, data, lastEventId: this.#lastEventId })
  }
}
