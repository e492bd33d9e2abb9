/**
 * Stream offsets are history ids written so that they sort as text: the Durable Streams protocol
 * compares offsets lexicographically (PROTOCOL.md §8), while a history id compares by number
 * (`e-9` < `e-10`). Every offset is `<16 digits>_<16 digits>`:
 *
 * - Redis ids `<ms>-<seq>` become `<ms>_<seq>`, both zero-padded.
 * - memory and file ids `<epoch>-<seq>` become `<seq>_<tag>`: the seq first (it orders the store),
 *   then a 16-digit tag of the epoch, so an offset from another run or another hub is recognised
 *   (its tag differs) and never misread.
 *
 * The empty stream's offset is ZERO_OFFSET, before every offset an entry can get.
 */

import { parseSeq } from '../history/ids.ts'

const WIDTH = 16
const ZEROS = '0'.repeat(WIDTH)
/** Offset of a stream with no entries: before every offset an entry can get. */
export const ZERO_OFFSET = `${ZEROS}_${ZEROS}`
/** The protocol's sentinels: from the start, from the tail. Never produced as offsets. */
export const START_SENTINEL = '-1'
export const TAIL_SENTINEL = 'now'
const OFFSET_SHAPE = /^[0-9]{16}_[0-9]{16}$/
const NUMERIC = /^[0-9]{1,16}$/
const NUMERIC_ID = /^([0-9]{1,16})-([0-9]{1,16})$/

export interface OffsetCodec {
  /** The offset of the entry stored under history id `id`. */
  toOffset(id: string): string
  /** True for an offset this store could have produced (ZERO_OFFSET included). */
  isOurs(offset: string): boolean
  /** The offset of an id of this store; undefined for an id it cannot have assigned. */
  fromId(id: string): string | undefined
  /** The history id behind one of our offsets (ZERO_OFFSET: undefined, before every id). */
  toId(offset: string): string | undefined
}

function unpad(n: string): string {
  return n.replace(/^0+(?=.)/, '')
}

function pad(n: string): string {
  return n.padStart(WIDTH, '0')
}

/** The codec for a history's ids: by epoch for memory/file stores, numeric for Redis stream ids. */
export function offsetCodec(history: object): OffsetCodec {
  const epoch = (history as { epoch?: unknown }).epoch
  if (typeof epoch === 'string') {
    const tag = pad((BigInt(parseInt(epoch, 36) || 0) % 10n ** 16n).toString())
    return {
      toOffset(id) {
        return `${pad(id.slice(id.lastIndexOf('-') + 1))}_${tag}`
      },
      isOurs(offset) {
        return offset === ZERO_OFFSET || (OFFSET_SHAPE.test(offset) && offset.endsWith(tag))
      },
      fromId(id) {
        const seq = parseSeq(id, epoch)
        return seq === undefined ? undefined : `${pad(String(seq))}_${tag}`
      },
      toId(offset) {
        return offset === ZERO_OFFSET ? undefined : `${epoch}-${unpad(offset.slice(0, WIDTH))}`
      },
    }
  }
  return {
    toOffset(id) {
      const dash = id.lastIndexOf('-')
      const head = id.slice(0, dash)
      const seq = id.slice(dash + 1)
      if (!NUMERIC.test(head) || !NUMERIC.test(seq)) throw new RangeError(`id ${id} has no offset`)
      return `${pad(head)}_${pad(seq)}`
    },
    isOurs(offset) {
      return OFFSET_SHAPE.test(offset)
    },
    fromId(id) {
      const m = NUMERIC_ID.exec(id)
      return m === null ? undefined : `${pad(m[1] as string)}_${pad(m[2] as string)}`
    },
    toId(offset) {
      if (offset === ZERO_OFFSET) return undefined
      return `${unpad(offset.slice(0, WIDTH))}-${unpad(offset.slice(WIDTH + 1))}`
    },
  }
}

/** True for the shape of an offset (any store). */
export function isOffset(offset: string): boolean {
  return OFFSET_SHAPE.test(offset)
}
