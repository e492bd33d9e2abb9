/**
 * Bytes of a Durable Streams request or response <-> stream entries (PROTOCOL.md §9). Entries are
 * strings (they are also the `data` of Lifeline events): JSON streams store one message per entry
 * (a POSTed array is flattened one level, §9.1.2); `text/*` streams store the UTF-8 text of each
 * append; every other type stores each append as base64.
 */
import type { EntryCut } from 'lifeline-sse/server'
import { HttpError } from '../../shared/http-error.ts'

export type PayloadKind = 'json' | 'text' | 'binary'

/** The media type without parameters, lower case (`Text/Plain; charset=x` -> `text/plain`). */
export function mediaType(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const type = (header.split(';')[0] ?? '').trim().toLowerCase()
  return type === '' ? undefined : type
}

export function payloadKind(contentType: string): PayloadKind {
  if (contentType === 'application/json') return 'json'
  return contentType.startsWith('text/') ? 'text' : 'binary'
}

const UTF8 = new TextDecoder('utf-8', { fatal: true })

/** Entries of one request body. `emptyArrayOk`: PUT may create an empty JSON stream with `[]`. */
export function toEntries(kind: PayloadKind, body: Buffer, emptyArrayOk: boolean): string[] {
  if (body.length === 0) return []
  if (kind === 'binary') return [body.toString('base64')]
  let text: string
  try {
    text = UTF8.decode(body)
  } catch {
    throw new HttpError('bad_data', 'The body is not valid UTF-8: a text or JSON stream takes UTF-8 only.')
  }
  if (kind === 'text') return [text]
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new HttpError('bad_json', `The body is not valid JSON (${(err as Error).message}).`)
  }
  if (!Array.isArray(value)) return [JSON.stringify(value)]
  // [spec] §9.1.3 "Servers MUST reject POST requests containing empty JSON arrays"
  if (value.length === 0 && !emptyArrayOk) {
    throw new HttpError('bad_json', 'An empty JSON array appends nothing: send at least one message.')
  }
  return value.map((v) => JSON.stringify(v) ?? 'null')
}

/** The response body of a catch-up or long-poll read. */
export function toBody(kind: PayloadKind, entries: readonly string[]): Buffer {
  if (kind === 'json') return Buffer.from(`[${entries.join(',')}]`)
  if (kind === 'text') return Buffer.from(entries.join(''))
  return Buffer.concat(entries.map((e) => Buffer.from(e, 'base64')))
}

/** The `data` of one SSE `data` event (binary: one base64 text, valid as a whole, §5.8). */
export function toSseData(kind: PayloadKind, entries: readonly string[]): string {
  if (kind === 'json') return `[${entries.join(',')}]`
  if (kind === 'text') return entries.join('')
  return toBody(kind, entries).toString('base64')
}

/**
 * Cuts an entry after `count` items for fork sub-offsets (PROTOCOL.md §4.2): JSON counts messages
 * (one per entry, so a count may span entries of one flattened batch); other types count bytes of
 * the next entry only ("past the next data boundary" is refused).
 */
export function splitter(kind: PayloadKind) {
  return (data: string, count: number): EntryCut | undefined => {
    if (kind === 'json') return { whole: true, taken: 1 }
    const bytes = kind === 'text' ? Buffer.from(data) : Buffer.from(data, 'base64')
    if (count > bytes.length) return undefined
    if (count === bytes.length) return { whole: true, taken: count }
    const head = bytes.subarray(0, count)
    return { whole: false, data: kind === 'text' ? head.toString('utf8') : head.toString('base64') }
  }
}

/** Payload bytes of one entry (response size caps). */
export function entryBytes(kind: PayloadKind, data: string): number {
  return kind === 'binary' ? (data.length * 3) >> 2 : data.length
}
