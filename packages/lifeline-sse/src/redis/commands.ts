/**
 * Every Redis command Lifeline sends, with its arguments and the parsing of its RESP2 reply. Together
 * with load-client.ts, the only code that knows Redis' wire shapes.
 *
 * An entry of the stream is one event: `XADD <stream> MAXLEN ~ <n> * t <topics JSON> d <data> [e <event>]`.
 * The entry id is the event id; its `<ms>` part is the time Redis stored it.
 */
import type { StoredEvent } from '../server/history/history.ts'
import type { RedisConnection } from './load-client.ts'
import { streamIdTime } from './stream-id.ts'

/** Field names inside a stream entry: one letter each, since every entry repeats them. */
const FIELD_TOPICS = 't'
const FIELD_DATA = 'd'
const FIELD_EVENT = 'e'

/** One entry as RESP2 returns it: `[id, [field, value, field, value, ...]]`. */
type RawEntry = [string, string[]]

/** Appends one event; resolves with the id Redis assigned. `maxEvents` 0 = no count trim. */
export async function appendEntry(
  conn: RedisConnection,
  stream: string,
  topics: readonly string[],
  data: string,
  event: string | undefined,
  maxEvents: number,
): Promise<string> {
  // MAXLEN with `~` lets Redis trim whole radix-tree nodes only: O(1) amortised instead of exact.
  const args: (string | number)[] = maxEvents > 0 ? [stream, 'MAXLEN', '~', maxEvents, '*'] : [stream, '*']
  args.push(FIELD_TOPICS, JSON.stringify(topics), FIELD_DATA, data)
  if (event !== undefined) args.push(FIELD_EVENT, event)
  const id = await conn.call('XADD', ...args)
  if (typeof id !== 'string') throw new Error(`XADD answered ${String(id)} instead of an id`)
  return id
}

/** Blocks up to `blockMs` for entries after `afterId`; resolves [] when none came. */
export async function readEntriesBlocking(
  conn: RedisConnection,
  stream: string,
  afterId: string,
  count: number,
  blockMs: number,
): Promise<StoredEvent[]> {
  const reply = await conn.call('XREAD', 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', stream, afterId)
  // [spec, XREAD] a null reply when the timeout passed with no entry; else [[key, entries]].
  if (reply === null || !Array.isArray(reply) || reply.length === 0) return []
  const [, entries] = reply[0] as [string, RawEntry[]]
  return entries.map(toStoredEvent)
}

/** Up to `count` entries after `afterId` and up to `untilId` included (XRANGE, exclusive start: Redis >= 6.2). */
export async function rangeAfter(
  conn: RedisConnection,
  stream: string,
  afterId: string,
  untilId: string,
  count: number,
): Promise<StoredEvent[]> {
  const reply = (await conn.call('XRANGE', stream, `(${afterId}`, untilId, 'COUNT', count)) as RawEntry[]
  return reply.map(toStoredEvent)
}

export interface StreamInfo {
  /** Entries held now. */
  readonly length: number
  /** Newest id ever assigned in this stream, even when its entry was trimmed since. */
  readonly lastGeneratedId: string
  /** Oldest id held, undefined when the stream is empty. */
  readonly firstId: string | undefined
}

/** XINFO STREAM, or undefined when the stream does not exist. */
export async function streamInfo(conn: RedisConnection, stream: string): Promise<StreamInfo | undefined> {
  let reply: unknown
  try {
    reply = await conn.call('XINFO', 'STREAM', stream)
  } catch (err) {
    if (err instanceof Error && /no such key/i.test(err.message)) return undefined
    throw err
  }
  // RESP2: a flat [name, value, name, value, ...] list.
  const flat = reply as unknown[]
  let length = 0
  let lastGeneratedId = '0-0'
  let firstId: string | undefined
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i]
    const value = flat[i + 1]
    if (name === 'length') length = Number(value)
    else if (name === 'last-generated-id') lastGeneratedId = String(value)
    else if (name === 'first-entry' && Array.isArray(value)) firstId = String(value[0])
  }
  return { length, lastGeneratedId, firstId }
}

/** Entries held now (XLEN; 0 for a missing stream). */
export async function streamLength(conn: RedisConnection, stream: string): Promise<number> {
  return Number(await conn.call('XLEN', stream))
}

/** Drops entries stored before `minTimeMs` (XTRIM MINID ~, whole radix-tree nodes only). */
export async function trimBefore(conn: RedisConnection, stream: string, minTimeMs: number): Promise<void> {
  await conn.call('XTRIM', stream, 'MINID', '~', `${Math.max(0, Math.floor(minTimeMs))}-0`)
}

/** Writes `candidate` as the data set's run id unless one exists; resolves with the run id in force. */
export async function claimEpoch(conn: RedisConnection, key: string, candidate: string): Promise<string> {
  await conn.call('SET', key, candidate, 'NX')
  const epoch = await conn.call('GET', key)
  if (typeof epoch !== 'string') throw new Error(`the run id key ${key} vanished right after it was set`)
  return epoch
}

/** The data set's run id, or undefined when Redis holds none (it started empty). */
export async function readEpoch(conn: RedisConnection, key: string): Promise<string | undefined> {
  const epoch = await conn.call('GET', key)
  return typeof epoch === 'string' ? epoch : undefined
}

function toStoredEvent(entry: RawEntry): StoredEvent {
  const [id, fields] = entry
  let topics: readonly string[] = []
  let data = ''
  let event: string | undefined
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]
    const value = fields[i + 1] as string
    if (name === FIELD_TOPICS) topics = parseTopics(value)
    else if (name === FIELD_DATA) data = value
    else if (name === FIELD_EVENT) event = value
  }
  return { id, topics, event, data, time: streamIdTime(id) }
}

/**
 * The topic list of an entry. An entry that some other program wrote into the stream must not wedge
 * every node's reader: unreadable topics match no subscriber, and the entry is skipped.
 */
function parseTopics(value: string): readonly string[] {
  try {
    const topics: unknown = JSON.parse(value)
    return Array.isArray(topics) && topics.every((t) => typeof t === 'string') ? topics : []
  } catch {
    return []
  }
}
