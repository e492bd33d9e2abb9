/**
 * Finite streams on Redis (cluster mode): every node reads and writes the same streams.
 *
 * Keys, beside the history stream and under its hash tag (one slot on Redis Cluster):
 * - `<stream>:s:<name>`: the stream's state as JSON (config, close, producers, fork, counts);
 * - `<stream>:s:<name>:e`: its entries, a Redis stream whose ids are the entries' history ids;
 * - `<stream>:s:<name>:forks`: how many forks read from it;
 * - `<stream>:s:<name>:lock`: the writer's lock (SET NX PX), so a stream's changes are serialised
 *   across nodes as the protocol asks (validation + append per stream and producer);
 * - `<stream>:s-expiry` (sorted set, name -> deadline ms) and `<stream>:s-count`, `<stream>:s-bytes`
 *   (the cluster-wide totals the limits are checked against).
 *
 * An append takes the lock, reads the state, decides with the shared rules (rules.ts), appends each
 * entry to the history (`History.append`: XADD, so every node fans it out to `/events` subscribers and
 * wakes its long-polls) and to the entries stream under the same id, then writes the state. The state
 * names the last entry id, and reads stop there, so a reader never sees a half-written append. A node
 * that dies mid-append leaves at most entries the state does not name yet (unread), and its lock
 * expires. Expired streams are dropped by whichever node finds them first (on access, or the sweep).
 */
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { LifelineError } from '../protocol/errors.ts'
import type { History } from '../server/history/history.ts'
import { type OffsetCodec, offsetCodec, START_SENTINEL, ZERO_OFFSET } from '../server/streams/offsets.ts'
import type { ProducerTuple } from '../server/streams/producers.ts'
import {
  type CreateDecision,
  decideAppend,
  decideCreate,
  rememberKey,
  ttlOverCap,
  walkSubOffset,
} from '../server/streams/rules.ts'
import {
  type AppendRequest,
  type AppendResult,
  type CreateRequest,
  type CreateResult,
  type DeleteResult,
  END_EVENT,
  type PersistedState,
  type ReadResult,
  type StreamChange,
  type StreamConfig,
  type StreamEntry,
  type StreamInfo,
  type StreamStore,
  type StreamStoreLimits,
} from '../server/streams/stream-store.ts'
import { StreamWatchers } from '../server/streams/stream-watchers.ts'
import { DEFAULT_KEY_PREFIX, redisKeys } from './keys.ts'
import { loadRedisClient, type RedisConnection } from './load-client.ts'

export interface RedisStreamStoreOptions extends StreamStoreLimits {
  /** The cluster history (`createRedisHistory`): ids and fan-out. */
  history: History
  url: string
  cluster?: boolean
  keyPrefix?: string
  onError?: (error: Error) => void
}

/** A lock is given up after this long (a node that died holding it). */
const LOCK_MS = 10_000
/** How long a writer waits for another node's lock before it answers 503. */
const LOCK_WAIT_MS = 5_000
const SWEEP_MS = 5_000
const SWEEP_BATCH = 100
const COMMAND_TIMEOUT_MS = 5_000
/** A reader is woken at the latest this long after the feed delivered an entry whose state lags. */
const SETTLE_MS = 2_000
const SETTLE_POLL_MS = 5

const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`

/** The stored state of one stream. */
interface Meta extends PersistedState {
  /** Id of the last own entry (reads stop there). */
  lastId: string | undefined
  entries: number
  bytes: number
}

type Listener = (change: StreamChange) => void

export class RedisStreamStore implements StreamStore {
  readonly #history: History
  readonly #base: string
  readonly #offsets: OffsetCodec
  readonly #limits: Required<StreamStoreLimits>
  readonly #onError: (error: Error) => void
  readonly #ready: Promise<RedisConnection>
  #conn: RedisConnection | undefined
  #watchers = new StreamWatchers()
  #unsubscribe: () => void
  #timer: NodeJS.Timeout
  #stats = { streams: 0, bytes: 0 }
  #closed = false

  constructor(options: RedisStreamStoreOptions) {
    this.#history = options.history
    this.#base = redisKeys(options.keyPrefix ?? DEFAULT_KEY_PREFIX).stream
    this.#offsets = offsetCodec(options.history)
    this.#limits = {
      maxStreams: options.maxStreams ?? 10_000,
      maxBytes: options.maxBytes ?? 256 * 1024 * 1024,
      maxTtlSeconds: options.maxTtlSeconds ?? 7 * 24 * 3600,
    }
    this.#onError = options.onError ?? ((e) => process.emitWarning(e.message))
    this.#ready = this.#connect(options)
    this.#ready.catch(() => {})
    // Every node sees every entry through the history's feed: wake this node's readers of the stream.
    this.#unsubscribe = options.history.subscribe({
      onEvent: (event) => {
        if (event.topics.length !== 1) return
        const name = event.topics[0] as string
        if (!this.#watchers.has(name)) return
        void this.#settle(name, event.id, event.event === END_EVENT)
      },
    })
    this.#timer = setInterval(() => void this.#sweep(), SWEEP_MS)
    this.#timer.unref()
  }

  async #connect(options: RedisStreamStoreOptions): Promise<RedisConnection> {
    const client = await loadRedisClient()
    const common = {
      protocol: 2,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectionName: 'lifeline-streams',
      retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 10), 2_000),
    }
    let conn: RedisConnection
    if (options.cluster === true) {
      const seed = new URL(options.url)
      conn = new client.Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }], {
        lazyConnect: true,
        enableOfflineQueue: false,
        enableReadyCheck: false,
        redisOptions: {
          ...common,
          username: seed.username ? decodeURIComponent(seed.username) : undefined,
          password: seed.password ? decodeURIComponent(seed.password) : undefined,
        },
      })
    } else {
      conn = new client.Redis(options.url, common)
    }
    conn.on('error', () => {})
    this.#conn = conn
    await conn.connect()
    return conn
  }

  /**
   * Wakes this node's readers of a stream once its state names the entry (or the close) the history
   * feed just delivered: the writer saves the state after the history append, so a reader woken at
   * once could read the state from before it and then wait for a wake-up that never comes.
   */
  async #settle(name: string, id: string, end: boolean): Promise<void> {
    const deadline = Date.now() + SETTLE_MS
    try {
      for (;;) {
        const meta = await this.#load(name)
        const done =
          meta === undefined ||
          (end ? meta.closed : meta.lastId !== undefined && this.#history.compare(meta.lastId, id) >= 0)
        if (done || Date.now() >= deadline) break
        await sleep(SETTLE_POLL_MS)
      }
    } catch {
      // Redis away: wake the readers anyway; their read fails or finds what is there.
    }
    const change: StreamChange = end ? 'closed' : 'append'
    this.#watchers.notify(name, change)
  }

  // ---- keys ----

  #meta(name: string): string {
    return `${this.#base}:s:${name}`
  }
  #entries(name: string): string {
    return `${this.#base}:s:${name}:e`
  }
  #forks(name: string): string {
    return `${this.#base}:s:${name}:forks`
  }
  #lock(name: string): string {
    return `${this.#base}:s:${name}:lock`
  }
  get #expiry(): string {
    return `${this.#base}:s-expiry`
  }
  get #count(): string {
    return `${this.#base}:s-count`
  }
  get #bytes(): string {
    return `${this.#base}:s-bytes`
  }

  async #call(command: string, ...args: (string | number)[]): Promise<unknown> {
    const conn = await this.#ready
    try {
      return await conn.call(command, ...args)
    } catch (cause) {
      throw new LifelineError(
        'LIFELINE_ERR_BACKEND_UNAVAILABLE',
        `Redis is unavailable for finite streams (${(cause as Error).message}): retry when /readyz answers 200`,
        { cause },
      )
    }
  }

  // ---- state ----

  async #load(name: string): Promise<Meta | undefined> {
    const raw = await this.#call('GET', this.#meta(name))
    return typeof raw === 'string' ? (JSON.parse(raw) as Meta) : undefined
  }

  async #save(name: string, meta: Meta): Promise<void> {
    await this.#call('SET', this.#meta(name), JSON.stringify(meta))
  }

  /** The stream unless it expired (then dropped, when `drop`); soft-deleted ones are returned as such. */
  async #live(name: string, drop: boolean): Promise<Meta | undefined> {
    const meta = await this.#load(name)
    if (meta === undefined || meta.softDeleted) return meta
    const deadline = await this.#call('ZSCORE', this.#expiry, name)
    if (deadline !== null && Number(deadline) <= Date.now()) {
      if (drop) await this.#drop(name, meta)
      return undefined
    }
    return meta
  }

  /** Renews a sliding TTL (or the default retention); an absolute expiry stays as it is. */
  async #touch(name: string, config: StreamConfig): Promise<void> {
    const deadline = config.expiresAt ?? Date.now() + (config.ttlSeconds ?? this.#limits.maxTtlSeconds) * 1000
    await this.#call('ZADD', this.#expiry, deadline, name)
  }

  #tail(meta: Meta): string {
    if (meta.lastId !== undefined) return this.#offsets.fromId(meta.lastId) as string
    return meta.fork !== undefined ? meta.fork.offset : ZERO_OFFSET
  }

  #info(name: string, meta: Meta): StreamInfo {
    return {
      name,
      ...meta.config,
      closed: meta.closed,
      tail: this.#tail(meta),
      endId: meta.endId,
      forkedFrom: meta.fork?.from,
      forkOffset: meta.fork?.offset,
      entries: meta.entries,
      bytes: meta.bytes,
    }
  }

  /** Entries a reader of `meta` sees after `offset` (inherited ones first), at most `limit`. */
  async #view(meta: Meta, name: string, offset: string, limit: number): Promise<StreamEntry[]> {
    const out: StreamEntry[] = []
    if (meta.fork !== undefined && offset < meta.fork.offset) {
      const source = await this.#load(meta.fork.from)
      if (source !== undefined) {
        for (const e of await this.#view(source, meta.fork.from, offset, limit)) {
          if (e.offset > meta.fork.offset) break
          out.push(e)
        }
      }
    }
    if (out.length >= limit || meta.lastId === undefined) return out
    const afterId = offset === ZERO_OFFSET ? undefined : this.#offsets.toId(offset)
    const reply = (await this.#call(
      'XRANGE',
      this.#entries(name),
      afterId === undefined ? '-' : `(${afterId}`,
      meta.lastId,
      'COUNT',
      limit - out.length,
    )) as [string, string[]][]
    for (const [id, fields] of reply) {
      out.push({ id, offset: this.#offsets.fromId(id) as string, data: fields[1] ?? '' })
    }
    return out
  }

  /** Appends to the history and the entries stream; undefined, or why nothing more was stored. */
  async #store(
    name: string,
    meta: Meta,
    data: readonly string[],
    ids?: string[],
  ): Promise<string | undefined> {
    if (data.length === 0) return undefined
    let size = 0
    for (const d of data) size += d.length
    const total = Number((await this.#call('GET', this.#bytes)) ?? 0)
    if (total + size > this.#limits.maxBytes) {
      return `the cluster holds ${this.#limits.maxBytes} bytes of streams, its limit`
    }
    const topics = [name]
    for (const d of data) {
      const stored = await this.#history.append(topics, { data: d })
      await this.#call('XADD', this.#entries(name), stored.id, 'd', d)
      meta.lastId = stored.id
      ids?.push(stored.id)
      meta.entries++
      meta.bytes += d.length
    }
    await this.#call('INCRBY', this.#bytes, size)
    return undefined
  }

  async #close(name: string, meta: Meta, by: ProducerTuple | undefined): Promise<void> {
    const end = await this.#history.append([name], {
      event: END_EVENT,
      data: JSON.stringify({ offset: this.#tail(meta) }),
    })
    meta.closed = true
    meta.endId = end.id
    meta.closedBy = by
  }

  // ---- the store ----

  create(name: string, request: CreateRequest): Promise<CreateResult> {
    return this.#locked(name, () => this.#create(name, request))
  }

  async #create(name: string, request: CreateRequest): Promise<CreateResult> {
    const existing = await this.#live(name, true)
    const fork = request.fork
    const source = fork === undefined ? undefined : await this.#live(fork.from, false)
    const decision = decideCreate(
      request,
      existing === undefined
        ? undefined
        : { ...existing, forkedFrom: existing.fork?.from, forkRequest: existing.forkRequest },
      source === undefined ? undefined : { ...source, tail: this.#tail(source) },
      (offset) => this.#offsets.isOurs(offset),
    )
    if (decision.kind === 'exists' && existing !== undefined) {
      await this.#touch(name, existing.config)
      return { kind: 'exists', info: this.#info(name, existing) }
    }
    if (decision.kind !== 'proceed')
      return decision as Exclude<CreateDecision, { kind: 'proceed' | 'exists' }>
    const { config, forkOffset } = decision
    const capped = ttlOverCap(config, this.#limits.maxTtlSeconds, Date.now())
    if (capped !== undefined) return { kind: 'limit', message: capped }
    const count = Number((await this.#call('INCR', this.#count)) ?? 0)
    if (count > this.#limits.maxStreams) {
      await this.#call('DECR', this.#count)
      return { kind: 'limit', message: `the cluster holds ${this.#limits.maxStreams} streams, its limit` }
    }
    const meta: Meta = {
      config,
      closed: false,
      endId: undefined,
      closedBy: undefined,
      fork:
        source !== undefined && forkOffset !== undefined
          ? { from: fork?.from as string, offset: forkOffset }
          : undefined,
      forkRequest:
        fork === undefined ? undefined : { offset: fork.offset, subOffset: fork.subOffset || undefined },
      softDeleted: false,
      producers: [],
      streamSeq: undefined,
      lastId: undefined,
      entries: 0,
      bytes: 0,
      createdAt: Date.now(),
    }
    try {
      if (
        source !== undefined &&
        fork?.subOffset !== undefined &&
        fork.subOffset > 0 &&
        meta.fork !== undefined
      ) {
        const at = meta.fork.offset
        const next = await this.#view(source, fork.from, at, fork.subOffset + 1)
        const walked = walkSubOffset(next, at, fork.subOffset, fork.split)
        if (walked === undefined) {
          await this.#call('DECR', this.#count)
          return { kind: 'bad_fork', message: 'the fork sub-offset is past the next entry' }
        }
        meta.fork = { from: fork.from, offset: walked.offset }
        if (walked.head !== undefined && walked.head !== '') await this.#store(name, meta, [walked.head])
      }
      const failed = await this.#store(name, meta, request.data ?? [])
      if (failed !== undefined) {
        await this.#call('DECR', this.#count)
        return { kind: 'limit', message: failed }
      }
      if (request.closed === true) await this.#close(name, meta, undefined)
      if (meta.fork !== undefined) await this.#call('INCR', this.#forks(meta.fork.from))
      await this.#save(name, meta)
      await this.#touch(name, config)
    } catch (error) {
      await this.#call('DECR', this.#count).catch(() => {})
      throw error
    }
    return { kind: 'created', info: this.#info(name, meta) }
  }

  append(name: string, request: AppendRequest): Promise<AppendResult> {
    return this.#locked(name, () => this.#append(name, request))
  }

  async #append(name: string, request: AppendRequest): Promise<AppendResult> {
    const meta = await this.#live(name, true)
    if (meta === undefined) return { kind: 'not_found' }
    if (meta.softDeleted) return { kind: 'gone' }
    const keys = new Map(meta.keys ?? [])
    const decision = decideAppend({ ...meta, producers: new Map(meta.producers), keys }, request, Date.now())
    if (decision.kind === 'duplicate') {
      return {
        kind: 'duplicate',
        info: this.#info(name, meta),
        producerSeq: decision.producerSeq,
        ids: decision.ids,
      }
    }
    if (decision.kind === 'closed') return { kind: 'closed', info: this.#info(name, meta) }
    if (decision.kind !== 'proceed') return decision
    const ids: string[] = []
    const failed = await this.#store(name, meta, request.data, ids)
    if (failed !== undefined) return { kind: 'limit', message: failed }
    if (decision.producer !== undefined && request.producer !== undefined) {
      const producers = new Map(meta.producers)
      producers.set(request.producer.id, decision.producer)
      meta.producers = [...producers]
    }
    if (request.streamSeq !== undefined) meta.streamSeq = request.streamSeq
    rememberKey(keys, request, ids)
    meta.keys = [...keys]
    if (request.close === true) await this.#close(name, meta, request.producer)
    await this.#save(name, meta)
    await this.#touch(name, meta.config)
    return { kind: 'ok', ids, info: this.#info(name, meta), producerSeq: request.producer?.seq }
  }

  async read(name: string, after: string, limit: number, touch: boolean): Promise<ReadResult> {
    const meta = await this.#live(name, false)
    if (meta === undefined) return { kind: 'not_found' }
    if (meta.softDeleted) return { kind: 'gone' }
    if (touch) await this.#touch(name, meta.config)
    const from = after === START_SENTINEL ? ZERO_OFFSET : after
    if (!this.#offsets.isOurs(from)) return { kind: 'bad_offset' }
    const tail = this.#tail(meta)
    if (from > tail) return { kind: 'bad_offset' }
    const entries = await this.#view(meta, name, from, limit)
    const last = entries.length > 0 ? (entries[entries.length - 1] as StreamEntry).offset : from
    return { kind: 'entries', entries, upToDate: last === tail, info: this.#info(name, meta) }
  }

  async readLast(name: string, count: number): Promise<ReadResult> {
    const meta = await this.#live(name, false)
    if (meta === undefined) return { kind: 'not_found' }
    if (meta.softDeleted) return { kind: 'gone' }
    const all = await this.#view(meta, name, ZERO_OFFSET, Number.MAX_SAFE_INTEGER)
    const entries = count >= all.length ? all : all.slice(all.length - count)
    return { kind: 'entries', entries, upToDate: true, info: this.#info(name, meta) }
  }

  async info(name: string, touch: boolean): Promise<StreamInfo | 'not_found' | 'gone'> {
    const meta = await this.#live(name, false)
    if (meta === undefined) return 'not_found'
    if (meta.softDeleted) return 'gone'
    if (touch) await this.#touch(name, meta.config)
    return this.#info(name, meta)
  }

  delete(name: string): Promise<DeleteResult> {
    return this.#locked(name, async () => {
      const meta = await this.#live(name, true)
      if (meta === undefined) return 'not_found' as const
      if (meta.softDeleted) return 'gone' as const
      await this.#drop(name, meta)
      return 'deleted' as const
    })
  }

  /** Deletes (soft while forks read from it), then sources that no one needs any more. */
  async #drop(name: string, meta: Meta): Promise<void> {
    this.#watchers.notify(name, 'deleted')
    const forks = Number((await this.#call('GET', this.#forks(name))) ?? 0)
    if (forks > 0) {
      meta.softDeleted = true
      await this.#save(name, meta)
      await this.#call('ZREM', this.#expiry, name)
      return
    }
    let current: { name: string; meta: Meta } | undefined = { name, meta }
    while (current !== undefined) {
      const { name: n, meta: m }: { name: string; meta: Meta } = current
      await this.#call('DEL', this.#meta(n), this.#entries(n), this.#forks(n))
      await this.#call('ZREM', this.#expiry, n)
      await this.#call('DECR', this.#count)
      await this.#call('DECRBY', this.#bytes, m.bytes)
      current = undefined
      if (m.fork !== undefined) {
        const left = Number(await this.#call('DECR', this.#forks(m.fork.from)))
        const source = await this.#load(m.fork.from)
        if (left <= 0 && source?.softDeleted === true) current = { name: m.fork.from, meta: source }
      }
    }
  }

  offsetOf(id: string): string | undefined {
    return this.#offsets.fromId(id)
  }

  watch(name: string, listener: Listener): () => void {
    return this.#watchers.watch(name, listener)
  }

  stats(): { streams: number; bytes: number } {
    return { ...this.#stats }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#timer)
    this.#unsubscribe()
    const conn = this.#conn
    if (conn !== undefined) await conn.quit().catch(() => conn.disconnect())
  }

  // ---- internals ----

  /** Runs `fn` holding the stream's lock (across every node of the cluster). */
  async #locked<R>(name: string, fn: () => Promise<R>): Promise<R> {
    const key = this.#lock(name)
    const token = randomUUID()
    const deadline = Date.now() + LOCK_WAIT_MS
    let wait = 2
    while ((await this.#call('SET', key, token, 'NX', 'PX', LOCK_MS)) === null) {
      if (Date.now() >= deadline) {
        throw new LifelineError(
          'LIFELINE_ERR_BACKEND_UNAVAILABLE',
          `stream ${name} stayed locked by another writer for ${LOCK_WAIT_MS} ms: retry`,
        )
      }
      await sleep(wait)
      wait = Math.min(wait * 2, 50)
    }
    try {
      return await fn()
    } finally {
      await this.#call('EVAL', RELEASE_LOCK, 1, key, token).catch((e: Error) => this.#onError(e))
    }
  }

  /** Drops expired streams (a batch per run) and refreshes the totals for metrics. */
  async #sweep(): Promise<void> {
    if (this.#closed) return
    try {
      const due = (await this.#call(
        'ZRANGEBYSCORE',
        this.#expiry,
        '-inf',
        Date.now(),
        'LIMIT',
        0,
        SWEEP_BATCH,
      )) as string[]
      for (const name of due) {
        await this.#locked(name, async () => {
          await this.#live(name, true)
        })
      }
      this.#stats = {
        streams: Number((await this.#call('GET', this.#count)) ?? 0),
        bytes: Number((await this.#call('GET', this.#bytes)) ?? 0),
      }
    } catch (error) {
      if (!this.#closed) this.#onError(error as Error)
    }
  }
}
