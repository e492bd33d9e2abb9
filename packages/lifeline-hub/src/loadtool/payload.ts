/**
 * The bench's event payload: `lb1 <seq> <sentAt> <padding>`, where seq counts the events of one topic
 * from 1 and sentAt is the publisher's clock in ms (performance.timeOrigin + performance.now()).
 *
 * Clocks: every process on one machine derives `timeOrigin + now()` from the same system clock at its
 * start plus its own monotonic time since, so values from the publisher process and from the worker
 * processes are comparable to a few microseconds, and stay monotonic within each process. (Across
 * machines they are not: latency from a remote publisher is only as good as NTP.)
 *
 * Parsing avoids JSON and regexes: a few indexOf calls per event, no intermediate arrays.
 */
const PREFIX = 'lb1 '
const SPACE = ' '

/** Milliseconds on a clock shared by the processes of one machine (see above). */
export function sharedNow(): number {
  return performance.timeOrigin + performance.now()
}

export function formatPayload(seq: number, sentAt: number, padding: string): string {
  return padding.length > 0 ? `${PREFIX}${seq} ${sentAt} ${padding}` : `${PREFIX}${seq} ${sentAt}`
}

/** Padding so the payload has about `bytes` bytes. */
export function makePadding(bytes: number): string {
  return bytes > 40 ? 'x'.repeat(bytes - 40) : ''
}

export type Parsed = { seq: number; sentAt: number }

/** Reads seq and sentAt into `out`; false when the data is not a bench payload. */
export function parsePayload(data: string, out: Parsed): boolean {
  if (!data.startsWith(PREFIX)) return false
  const a = PREFIX.length
  const b = data.indexOf(SPACE, a)
  if (b === -1) return false
  let c = data.indexOf(SPACE, b + 1)
  if (c === -1) c = data.length
  out.seq = Number(data.slice(a, b))
  out.sentAt = Number(data.slice(b + 1, c))
  return Number.isFinite(out.seq) && Number.isFinite(out.sentAt)
}
