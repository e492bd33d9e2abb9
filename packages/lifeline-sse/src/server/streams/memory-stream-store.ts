/**
 * The in-process stream store: every stream's entries in memory, bounded by the store's limits (stream
 * count, payload bytes, TTL cap). Ids come from the hub's history (`History.append`), so an entry is
 * also an event `/events` subscribers receive; this store keeps the stream's own copy for as long as
 * the stream lives, whatever the history ring evicts. The file store extends it with a journal.
 *
 * Every change of one stream runs under that stream's lock (a promise chain): validation, the history
 * appends and the producer state are one step, so `(stream, producer)` requests are serialised as the
 * protocol requires, and two writers never interleave their batches.
 */
import type { History } from '../history/history.ts'
import { type OffsetCodec, offsetCodec, START_SENTINEL, ZERO_OFFSET } from './offsets.ts'
import type { ProducerState, ProducerTuple } from './producers.ts'
import {
  type CreateDecision,
  decideAppend,
  decideCreate,
  rememberKey,
  ttlOverCap,
  walkSubOffset,
} from './rules.ts'
import {
  type AppendRequest,
  type AppendResult,
  type CreateRequest,
  type CreateResult,
  type DeleteResult,
  END_EVENT,
  type ReadResult,
  type StreamChange,
  type StreamConfig,
  type StreamEntry,
  type StreamInfo,
  type StreamStore,
  type StreamStoreLimits,
} from './stream-store.ts'
import { StreamWatchers } from './stream-watchers.ts'

export const STREAM_DEFAULTS = {
  maxStreams: 10_000,
  maxBytes: 256 * 1024 * 1024,
  maxTtlSeconds: 7 * 24 * 3600,
} as const

/** How often expired streams are dropped without being asked for, ms. */
const SWEEP_MS = 5_000

export interface MemoryStreamStoreOptions extends StreamStoreLimits {
  /** Where ids come from and where entries are fanned out. */
  history: History
  /** Wall clock, ms. @default Date.now */
  now?: () => number
}

/** One stream. Exported for the file store, which journals these. */
export interface StreamRecord {
  readonly name: string
  config: StreamConfig
  closed: boolean
  endId: string | undefined
  closedBy: ProducerTuple | undefined
  entries: StreamEntry[]
  bytes: number
  /** The source and the offset up to which its entries are inherited. */
  fork: { readonly from: StreamRecord; readonly offset: string } | undefined
  /** The fork as asked for (offset and sub-offset headers): a re-create must ask the same. */
  forkRequest: { readonly offset: string | undefined; readonly subOffset: number | undefined } | undefined
  /** Forks that inherit from this stream (a deleted stream with forks is kept, soft-deleted). */
  forks: number
  softDeleted: boolean
  producers: Map<string, ProducerState>
  streamSeq: string | undefined
  /** Recent request keys -> the ids they stored (idempotent retries answer the original ids). */
  keys: Map<string, readonly string[]>
  /** Wall-clock ms of the last read or write (sliding TTL). */
  touchedAt: number
  createdAt: number
}

type Listener = (change: StreamChange) => void

export class MemoryStreamStore implements StreamStore {
  protected readonly history: History
  protected readonly now: () => number
  protected readonly offsets: OffsetCodec
  readonly limits: Required<StreamStoreLimits>
  protected readonly records = new Map<string, StreamRecord>()
  #watchers = new StreamWatchers()
  #locks = new Map<string, Promise<unknown>>()
  #bytes = 0
  #timer: NodeJS.Timeout | undefined

  constructor(options: MemoryStreamStoreOptions) {
    this.history = options.history
    this.now = options.now ?? Date.now
    this.offsets = offsetCodec(options.history)
    this.limits = {
      maxStreams: options.maxStreams ?? STREAM_DEFAULTS.maxStreams,
      maxBytes: options.maxBytes ?? STREAM_DEFAULTS.maxBytes,
      maxTtlSeconds: options.maxTtlSeconds ?? STREAM_DEFAULTS.maxTtlSeconds,
    }
    this.#timer = setInterval(() => this.#sweep(), SWEEP_MS)
    this.#timer.unref()
  }

  // ---- journal hooks (the file store persists these; memory keeps nothing else) ----

  /** The record was created or changed (config, closed, producers, seq, entries appended). */
  protected saved(_record: StreamRecord, _added: readonly StreamEntry[]): void {}
  /** The record is gone for good. */
  protected removed(_record: StreamRecord): void {}

  /** Adds a record loaded from a journal (file store start). */
  protected adopt(record: StreamRecord): void {
    this.records.set(record.name, record)
    this.#bytes += record.bytes
  }

  // ---- the store ----

  create(name: string, request: CreateRequest): Promise<CreateResult> {
    return this.#locked(name, () => this.#create(name, request))
  }

  async #create(name: string, request: CreateRequest): Promise<CreateResult> {
    const now = this.now()
    const existing = this.#live(name, now)
    const named = request.fork === undefined ? undefined : this.#live(request.fork.from, now)
    const decision = decideCreate(
      request,
      existing === undefined
        ? undefined
        : { ...existing, forkedFrom: existing.fork?.from.name, forkRequest: existing.forkRequest },
      named === undefined ? undefined : { ...named, tail: tailOf(named) },
      (offset) => this.offsets.isOurs(offset),
    )
    if (decision.kind === 'exists' && existing !== undefined) {
      existing.touchedAt = now
      return { kind: 'exists', info: this.#info(existing) }
    }
    if (decision.kind !== 'proceed')
      return decision as Exclude<CreateDecision, { kind: 'proceed' | 'exists' }>
    const config = decision.config
    const forkOffset = decision.forkOffset
    const source = named
    const capped = ttlOverCap(config, this.limits.maxTtlSeconds, this.now())
    if (capped !== undefined) return { kind: 'limit', message: capped }
    if (this.records.size >= this.limits.maxStreams) {
      return { kind: 'limit', message: `the hub holds ${this.limits.maxStreams} streams, its limit` }
    }
    const record: StreamRecord = {
      name,
      config,
      closed: false,
      endId: undefined,
      closedBy: undefined,
      entries: [],
      bytes: 0,
      fork:
        source !== undefined && forkOffset !== undefined ? { from: source, offset: forkOffset } : undefined,
      forkRequest:
        request.fork === undefined
          ? undefined
          : { offset: request.fork.offset, subOffset: request.fork.subOffset || undefined },
      forks: 0,
      softDeleted: false,
      producers: new Map(),
      streamSeq: undefined,
      keys: new Map(),
      touchedAt: now,
      createdAt: now,
    }
    if (source !== undefined && request.fork?.subOffset !== undefined && request.fork.subOffset > 0) {
      const at = forkOffset as string
      const walked = walkSubOffset(entriesAfter(source, at), at, request.fork.subOffset, request.fork.split)
      if (walked === undefined)
        return { kind: 'bad_fork', message: 'the fork sub-offset is past the next entry' }
      record.fork = { from: source, offset: walked.offset }
      if (walked.head !== undefined && walked.head !== '') {
        const r = await this.#store(record, [walked.head])
        if (r !== undefined) return { kind: 'limit', message: r }
      }
    }
    const data = request.data ?? []
    const failed = await this.#store(record, data)
    if (failed !== undefined) return { kind: 'limit', message: failed }
    if (source !== undefined) source.forks++
    this.records.set(name, record)
    this.#bytes += record.bytes
    if (request.closed === true) await this.#close(record, undefined)
    this.saved(record, record.entries)
    return { kind: 'created', info: this.#info(record) }
  }

  append(name: string, request: AppendRequest): Promise<AppendResult> {
    return this.#locked(name, () => this.#append(name, request))
  }

  async #append(name: string, request: AppendRequest): Promise<AppendResult> {
    const now = this.now()
    const record = this.#live(name, now)
    if (record === undefined) return { kind: 'not_found' }
    if (record.softDeleted) return { kind: 'gone' }
    const producer = request.producer
    const decision = decideAppend(record, request, now)
    if (decision.kind === 'duplicate') {
      return {
        kind: 'duplicate',
        info: this.#info(record),
        producerSeq: decision.producerSeq,
        ids: decision.ids,
      }
    }
    if (decision.kind === 'closed') return { kind: 'closed', info: this.#info(record) }
    if (decision.kind !== 'proceed') return decision
    const next = decision.producer
    const before = record.entries.length
    const bytesBefore = record.bytes
    const failed = await this.#store(record, request.data)
    if (failed !== undefined) return { kind: 'limit', message: failed }
    this.#bytes += record.bytes - bytesBefore
    if (next !== undefined) record.producers.set((producer as ProducerTuple).id, next)
    if (request.streamSeq !== undefined) record.streamSeq = request.streamSeq
    record.touchedAt = now
    const added = record.entries.slice(before)
    rememberKey(
      record.keys,
      request,
      added.map((e) => e.id),
    )
    if (request.close === true) await this.#close(record, producer)
    this.saved(record, added)
    if (added.length > 0) this.#notify(name, 'append')
    if (request.close === true) this.#notify(name, 'closed')
    return {
      kind: 'ok',
      ids: added.map((e) => e.id),
      info: this.#info(record),
      producerSeq: producer?.seq,
    }
  }

  read(name: string, after: string, limit: number, touch: boolean): Promise<ReadResult> {
    const now = this.now()
    const record = this.#live(name, now)
    if (record === undefined) return Promise.resolve({ kind: 'not_found' })
    if (record.softDeleted) return Promise.resolve({ kind: 'gone' })
    if (touch) record.touchedAt = now
    const from = after === START_SENTINEL ? ZERO_OFFSET : after
    if (!this.offsets.isOurs(from)) return Promise.resolve({ kind: 'bad_offset' })
    const tail = tailOf(record)
    // An offset past the tail was never handed out by this stream (another run of a memory hub, or
    // another store): the reader cannot know what it missed.
    if (from > tail) return Promise.resolve({ kind: 'bad_offset' })
    const all = entriesAfter(record, from)
    const entries = all.length > limit ? all.slice(0, limit) : all
    return Promise.resolve({
      kind: 'entries',
      entries,
      upToDate: entries.length === all.length,
      info: this.#info(record),
    })
  }

  readLast(name: string, count: number): Promise<ReadResult> {
    const record = this.#live(name, this.now())
    if (record === undefined) return Promise.resolve({ kind: 'not_found' })
    if (record.softDeleted) return Promise.resolve({ kind: 'gone' })
    const all = entriesAfter(record, ZERO_OFFSET)
    return Promise.resolve({
      kind: 'entries',
      entries: count >= all.length ? all : all.slice(all.length - count),
      upToDate: true,
      info: this.#info(record),
    })
  }

  info(name: string, touch: boolean): Promise<StreamInfo | 'not_found' | 'gone'> {
    const now = this.now()
    const record = this.#live(name, now)
    if (record === undefined) return Promise.resolve('not_found')
    if (record.softDeleted) return Promise.resolve('gone')
    if (touch) record.touchedAt = now
    return Promise.resolve(this.#info(record))
  }

  delete(name: string): Promise<DeleteResult> {
    return this.#locked(name, () => {
      const record = this.#live(name, this.now())
      if (record === undefined) return 'not_found' as const
      if (record.softDeleted) return 'gone' as const
      this.#drop(record)
      return 'deleted' as const
    })
  }

  offsetOf(id: string): string | undefined {
    return this.offsets.fromId(id)
  }

  watch(name: string, listener: Listener): () => void {
    return this.#watchers.watch(name, listener)
  }

  stats(): { streams: number; bytes: number } {
    return { streams: this.records.size, bytes: this.#bytes }
  }

  close(): Promise<void> {
    clearInterval(this.#timer)
    return Promise.resolve()
  }

  // ---- internals ----

  #info(r: StreamRecord): StreamInfo {
    return {
      name: r.name,
      ...r.config,
      closed: r.closed,
      tail: tailOf(r),
      endId: r.endId,
      forkedFrom: r.fork?.from.name,
      forkOffset: r.fork?.offset,
      entries: r.entries.length,
      bytes: r.bytes,
    }
  }

  /** Appends entries to the history (ids) and to the record; undefined, or why nothing was stored. */
  async #store(record: StreamRecord, data: readonly string[]): Promise<string | undefined> {
    if (data.length === 0) return undefined
    let size = 0
    for (const d of data) size += d.length
    if (this.#bytes + size > this.limits.maxBytes) {
      return `the hub holds ${this.limits.maxBytes} bytes of streams, its limit`
    }
    const topics = [record.name]
    for (const d of data) {
      const stored = await this.history.append(topics, { data: d })
      record.entries.push({ id: stored.id, offset: this.offsets.toOffset(stored.id), data: d })
      record.bytes += d.length
    }
    return undefined
  }

  /** Closes: the end marker goes through the history (live subscribers get it in order). */
  async #close(record: StreamRecord, by: ProducerTuple | undefined): Promise<void> {
    const tail = tailOf(record)
    const end = await this.history.append([record.name], {
      event: END_EVENT,
      data: JSON.stringify({ offset: tail }),
    })
    record.closed = true
    record.endId = end.id
    record.closedBy = by
  }

  /** The record, or undefined when missing or expired (then dropped). */
  #live(name: string, now: number): StreamRecord | undefined {
    const r = this.records.get(name)
    if (r === undefined) return undefined
    if (!r.softDeleted && this.#expired(r, now)) {
      this.#drop(r)
      return undefined
    }
    return r
  }

  #expired(r: StreamRecord, now: number): boolean {
    const c = r.config
    if (c.expiresAt !== undefined) return now >= c.expiresAt
    const ttl = c.ttlSeconds ?? this.limits.maxTtlSeconds
    return ttl > 0 && now >= r.touchedAt + ttl * 1000
  }

  /** Deletes (soft while forks inherit from it), then releases sources no one needs any more. */
  #drop(r: StreamRecord): void {
    this.#notify(r.name, 'deleted')
    if (r.forks > 0) {
      r.softDeleted = true
      this.saved(r, [])
      return
    }
    let current: StreamRecord | undefined = r
    while (current !== undefined) {
      if (this.records.get(current.name) === current) this.records.delete(current.name)
      this.#bytes -= current.bytes
      this.removed(current)
      const source: StreamRecord | undefined = current.fork?.from
      if (source === undefined) break
      source.forks--
      current = source.forks === 0 && source.softDeleted ? source : undefined
    }
  }

  #sweep(): void {
    const now = this.now()
    for (const r of [...this.records.values()]) {
      if (!r.softDeleted && this.#expired(r, now)) this.#drop(r)
    }
  }

  #notify(name: string, change: StreamChange): void {
    this.#watchers.notify(name, change)
  }

  #locked<R>(name: string, fn: () => R | Promise<R>): Promise<R> {
    const prev = this.#locks.get(name) ?? Promise.resolve()
    const run = prev.then(fn, fn)
    const tail = run.then(
      () => {},
      () => {},
    )
    this.#locks.set(name, tail)
    void tail.then(() => {
      if (this.#locks.get(name) === tail) this.#locks.delete(name)
    })
    return run
  }
}

/** Offset of the last entry a reader of `r` sees (inherited ones included). */
export function tailOf(r: StreamRecord): string {
  const own = r.entries[r.entries.length - 1]
  if (own !== undefined) return own.offset
  return r.fork !== undefined ? r.fork.offset : ZERO_OFFSET
}

/** Every entry after `offset` a reader of `r` sees: inherited up to the fork offset, then its own. */
export function entriesAfter(r: StreamRecord, offset: string): StreamEntry[] {
  const out: StreamEntry[] = []
  if (r.fork !== undefined && offset < r.fork.offset) {
    for (const e of entriesAfter(r.fork.from, offset)) {
      if (e.offset > r.fork.offset) break
      out.push(e)
    }
  }
  const own = r.entries
  let i = firstAfter(own, offset)
  for (; i < own.length; i++) out.push(own[i] as StreamEntry)
  return out
}

/** Index of the first entry whose offset sorts after `offset` (binary search: offsets sort as text). */
function firstAfter(entries: readonly StreamEntry[], offset: string): number {
  let lo = 0
  let hi = entries.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((entries[mid] as StreamEntry).offset <= offset) lo = mid + 1
    else hi = mid
  }
  return lo
}
