/**
 * Event ids of the memory and file stores: `<epoch>-<seq>`.
 *
 * - `epoch` is base36 of the wall-clock ms when the store was created plus 4 random base36 characters,
 *   so two runs (or two hubs) started in the same millisecond still differ. The memory store makes a
 *   new one per start; the file store keeps its epoch in the file, so ids stay valid across restarts.
 * - `seq` is a decimal counter starting at 1, +1 per appended event, never reused (trimming only
 *   removes the oldest). Within one store the ids are therefore contiguous, which lets the memory ring
 *   find an id's slot by subtraction instead of a search.
 *
 * An id with another epoch, or not of this shape, is `unknown` to the store; never misread.
 */

const SEQ = /^(?:0|[1-9][0-9]{0,15})$/
const EPOCH_RANDOM_CHARS = 4

/** A fresh epoch: base36 time plus random characters (`lz3k9q0a` + `x7f2`). */
export function newEpoch(nowMs: number = Date.now()): string {
  const bytes = new Uint8Array(EPOCH_RANDOM_CHARS)
  globalThis.crypto.getRandomValues(bytes)
  let rand = ''
  for (const b of bytes) rand += (b % 36).toString(36)
  return Math.floor(nowMs).toString(36) + rand
}

export function formatId(epoch: string, seq: number): string {
  return `${epoch}-${seq}`
}

/** The sequence number of `id` when it carries `epoch`, else undefined (unknown to this store). */
export function parseSeq(id: string, epoch: string): number | undefined {
  if (id.length <= epoch.length + 1 || !id.startsWith(epoch) || id.charCodeAt(epoch.length) !== 0x2d) {
    return undefined
  }
  const tail = id.slice(epoch.length + 1)
  if (!SEQ.test(tail)) return undefined
  const seq = Number(tail)
  return Number.isSafeInteger(seq) ? seq : undefined
}

/**
 * Orders ids of one store: by sequence within the epoch. Ids of other epochs (never produced by this
 * store) sort by their text before this epoch's ids, so the order stays total and consistent.
 */
export function compareIds(epoch: string, a: string, b: string): number {
  const sa = parseSeq(a, epoch)
  const sb = parseSeq(b, epoch)
  if (sa !== undefined && sb !== undefined) return sa - sb
  if (sa !== undefined) return 1
  if (sb !== undefined) return -1
  return a < b ? -1 : a > b ? 1 : 0
}
