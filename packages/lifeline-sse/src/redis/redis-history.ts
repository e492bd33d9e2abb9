/**
 * The cluster history: every hub appends to one Redis stream and reads it back, so a publish on node A
 * reaches subscribers on node B, and a Last-Event-ID from any node resumes on any node (docs/design.md §2,
 * §4, §8).
 *
 * - append = XADD (`MAXLEN ~` count retention; age retention by XTRIM MINID once a second). The id is
 *   the stream id. Nothing is queued while Redis is away: the client's offline queue and retries are
 *   off, so a publish that Redis did not store rejects with LIFELINE_ERR_BACKEND_UNAVAILABLE.
 * - live = one dedicated connection per node in an `XREAD BLOCK` loop from the last id it delivered,
 *   fanning each entry out to the local listeners, in id order, exactly once (this node's own appends
 *   included: the hub never fans out from append).
 * - replay = XRANGE after the id, paged, with the topic filter.
 * - faults: when Redis returns, the loop first checks that it still holds what it acknowledged (the
 *   run id key is unchanged and the stream reaches our last id), then reads on from the last id, so
 *   listeners get, in order, what other nodes published meanwhile. Otherwise listeners get
 *   onReset('backend_lost') and reading restarts at the start of the new stream.
 */
import { randomUUID } from 'node:crypto'
import { type EventEmitter, once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { LifelineError } from '../protocol/errors.ts'
import type {
  History,
  HistoryErrorHandler,
  HistoryErrorOptions,
  HistoryListener,
  ReadAfterResult,
  ReadPage,
  ResetReason,
  StoredEvent,
} from '../server/history/history.ts'
import { HistoryListeners, warnHistoryError } from '../server/history/listeners.ts'
import {
  appendEntry,
  claimEpoch,
  rangeAfter,
  readEntriesBlocking,
  readEpoch,
  streamInfo,
  streamLength,
  trimBefore,
} from './commands.ts'
import { DEFAULT_KEY_PREFIX, type RedisKeys, redisKeys } from './keys.ts'
import { loadRedisClient, type RedisClientModule, type RedisConnection } from './load-client.ts'
import { compareStreamIds, isStreamId, STREAM_START } from './stream-id.ts'

export interface RedisHistoryOptions extends HistoryErrorOptions {
  /** `redis://[user:pass@]host:port[/db]` or `rediss://` (TLS). With `cluster`, one seed node of the cluster. */
  url: string
  /** Prefix of both keys (`<prefix>{stream}`, `<prefix>{stream}:epoch`). @default 'lifeline:' */
  keyPrefix?: string
  /** Events kept, trimmed by `XADD MAXLEN ~` (Redis may keep up to ~100 more). @default 10_000. 0 = no count limit. */
  maxEvents?: number
  /** Oldest age kept, ms, trimmed by `XTRIM MINID ~` once a second. @default 3_600_000 (1 h). 0 = no age limit. */
  ttlMs?: number
  /** Connect to a Redis Cluster (url = one seed node). @default false (one Redis, or a Sentinel-less primary). */
  cluster?: boolean
  /** ms `createRedisHistory` waits for Redis before it rejects. @default 10_000. 0 = do not wait (start not ready). */
  connectTimeoutMs?: number
  /** ms any non-blocking command may wait for its reply; past it the node counts Redis as unreachable. @default 5_000 */
  commandTimeoutMs?: number
  /** Called when the node starts or stops reading Redis: `ready` once it is in step (at start and after
   *  an outage), and not ready with the reason the client gives (e.g. `connect ECONNREFUSED
   *  127.0.0.1:1`), again only when the reason changes. For logs; `ready()` is the state. @default none */
  onStatus?: (status: RedisHistoryStatus) => void
}

/** What `onStatus` reports: reading Redis, or not, and why. */
export type RedisHistoryStatus =
  | { readonly ready: true; readonly url: string }
  | { readonly ready: false; readonly url: string; readonly reason: string }

/** Entries per XREAD: one round trip carries a burst, and a burst cannot starve the event loop. */
const READ_BATCH = 512
/** XREAD BLOCK timeout, ms: how often an idle reader comes back to check that it should still run. */
const BLOCK_MS = 2_000
/** Entries per XRANGE page of a replay: a replay never asks Redis for an unbounded reply. */
const REPLAY_PAGE = 1_000
/** Period of the one maintenance timer (age trim, size gauge, liveness probe), ms. */
const MAINTENANCE_MS = 1_000
/** Reconnect backoff of the client, ms: first retry, cap. */
const RETRY_MIN_MS = 100
const RETRY_MAX_MS = 2_000

const DEFAULTS = {
  keyPrefix: DEFAULT_KEY_PREFIX,
  maxEvents: 10_000,
  ttlMs: 3_600_000,
  connectTimeoutMs: 10_000,
  commandTimeoutMs: 5_000,
} as const

/** Opens a cluster history on Redis Streams. Rejects when Redis is not reachable within connectTimeoutMs. */
export async function createRedisHistory(options: RedisHistoryOptions): Promise<History> {
  const client = await loadRedisClient()
  const history = new RedisHistory(client, options)
  await history.start()
  return history
}

const RETRY_HINT = 'Nothing was stored; retry when /readyz answers 200'
const START_HINT = 'Check the Redis URL (host, port, password, TLS) and that Redis is running'

function unavailable(what: string, cause?: unknown, hint = RETRY_HINT): LifelineError {
  const reason = cause instanceof Error ? ` (${cause.message})` : ''
  return new LifelineError(
    'LIFELINE_ERR_BACKEND_UNAVAILABLE',
    `Redis is unavailable, ${what}${reason}. ${hint}`,
    {
      cause,
    },
  )
}

/** An ioredis error as one line: a Redis Cluster's "all nodes failed" carries the real cause inside. */
function reasonOf(error: Error): string {
  const inner = (error as Error & { lastNodeError?: unknown }).lastNodeError
  return inner instanceof Error ? `${error.message} (${inner.message})` : error.message
}

/** The url without its password, for messages and logs. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '<unparseable url>'
  }
}

class RedisHistory implements History {
  readonly #keys: RedisKeys
  readonly #maxEvents: number
  readonly #ttlMs: number
  readonly #connectTimeoutMs: number
  readonly #url: string
  readonly #onError: HistoryErrorHandler
  /** Appends, replays, probes. No offline queue, no retry: a command either reaches Redis now or rejects. */
  readonly #cmd: RedisConnection
  /** The dedicated blocking connection: only ever carries the XREAD BLOCK loop. */
  readonly #reader: RedisConnection
  readonly #listeners: HistoryListeners
  /** Replays waiting for the live feed to reach an id (see readAfter). */
  readonly #catchUp = new Set<{
    readonly id: string
    readonly wake: () => void
    readonly fail: (error: Error) => void
  }>()
  readonly #commandTimeoutMs: number
  /** Newest id delivered to listeners; the loop reads on from here. */
  #lastSeen = STREAM_START
  /** The run id of the data set this node has read; undefined before the first successful sync. */
  #epoch: string | undefined
  /** True while the reader is in step with Redis (synced since the last (re)connect). */
  #synced = false
  /** False after a maintenance probe failed (a silent network partition), true after one succeeded. */
  #probeOk = true
  #size = 0
  #closed = false
  readonly #stop = new AbortController()
  #loop: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined
  #maintaining = false
  /** The latest connection error, for messages. */
  #lastError: Error | undefined
  readonly #onStatus: ((status: RedisHistoryStatus) => void) | undefined
  /** What onStatus last said: undefined before the first report; the reason while not ready. */
  #reported: { ready: boolean; reason?: string } | undefined

  constructor(client: RedisClientModule, options: RedisHistoryOptions) {
    this.#keys = redisKeys(options.keyPrefix ?? DEFAULTS.keyPrefix)
    this.#maxEvents = options.maxEvents ?? DEFAULTS.maxEvents
    this.#ttlMs = options.ttlMs ?? DEFAULTS.ttlMs
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs
    this.#commandTimeoutMs = options.commandTimeoutMs ?? DEFAULTS.commandTimeoutMs
    this.#url = redactUrl(options.url)
    this.#onError = options.onError ?? warnHistoryError
    this.#listeners = new HistoryListeners(this.#onError)
    this.#onStatus = options.onStatus
    const retryStrategy = (times: number) => Math.min(RETRY_MIN_MS * 2 ** Math.min(times, 10), RETRY_MAX_MS)
    const common = {
      // RESP2 replies: the same shapes from every Redis version and every client mode.
      protocol: 2,
      lazyConnect: true,
      retryStrategy,
      // Nothing waits for Redis in the client: a command sent while it is away rejects at once, and a
      // command in flight when the connection drops rejects instead of being resent later.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout: this.#commandTimeoutMs,
    }
    const cmdOptions = {
      ...common,
      commandTimeout: this.#commandTimeoutMs,
      connectionName: 'lifeline',
    }
    const readerOptions = { ...common, connectionName: 'lifeline-reader' }
    if (options.cluster === true) {
      const seed = new URL(options.url)
      const seeds = [{ host: seed.hostname, port: Number(seed.port || 6379) }]
      const auth = {
        username: seed.username ? decodeURIComponent(seed.username) : undefined,
        password: seed.password ? decodeURIComponent(seed.password) : undefined,
        tls: seed.protocol === 'rediss:' ? {} : undefined,
      }
      const cluster = (redisOptions: Record<string, unknown>) => ({
        lazyConnect: true,
        enableOfflineQueue: false,
        // The cluster's own ready check goes through the (disabled) offline queue: it would always fail.
        enableReadyCheck: false,
        maxRedirections: 16,
        clusterRetryStrategy: retryStrategy,
        redisOptions: { ...redisOptions, ...auth },
      })
      this.#cmd = new client.Cluster(seeds, cluster(cmdOptions))
      this.#reader = new client.Cluster(seeds, cluster(readerOptions))
    } else {
      this.#cmd = new client.Redis(options.url, cmdOptions)
      this.#reader = new client.Redis(options.url, readerOptions)
    }
    // Connection errors repeat on every retry while Redis is away: ready() turns false, and the last
    // one is kept to explain a failed start or a refused append (wrong password, TLS, DNS...).
    const remember = (error: unknown) => {
      if (!(error instanceof Error)) return
      this.#lastError = error
      this.#report()
    }
    this.#cmd.on('error', remember)
    this.#reader.on('error', remember)
    this.#reader.on('close', () => {
      this.#synced = false
    })
  }

  /** Connects, starts the read loop and the maintenance timer; waits for the first sync (connectTimeoutMs). */
  async start(): Promise<void> {
    // lazyConnect + connect(): the first attempt's failure is ours to see; the client keeps retrying after.
    this.#cmd.connect().catch(() => {})
    this.#reader.connect().catch(() => {})
    this.#loop = this.#readLoop()
    this.#timer = setInterval(() => {
      this.#report()
      void this.#maintain()
    }, MAINTENANCE_MS)
    this.#timer.unref()
    if (this.#connectTimeoutMs === 0) return
    const deadline = Date.now() + this.#connectTimeoutMs
    while (!this.ready()) {
      if (Date.now() >= deadline) {
        await this.close()
        throw unavailable(
          `no answer from ${this.#url} within ${this.#connectTimeoutMs} ms`,
          this.#lastError,
          START_HINT,
        )
      }
      await sleep(RETRY_MIN_MS / 2)
    }
  }

  async append(
    topics: readonly string[],
    event: { readonly data: string; readonly event?: string | undefined },
  ): Promise<StoredEvent> {
    if (this.#closed) throw unavailable('the history is closed')
    if (this.#cmd.status !== 'ready') throw unavailable(`not connected to ${this.#url}`, this.#lastError)
    // Before its first sync the node does not know where its live feed starts: the sync would place
    // it after this event, and the event would never be fanned out here. (After a reconnect the node
    // reads on from its last id, so an append then is delivered once the reader is back.)
    if (this.#epoch === undefined) throw unavailable(`this node is still connecting to ${this.#url}`)
    let id: string
    try {
      id = await appendEntry(this.#cmd, this.#keys.stream, topics, event.data, event.event, this.#maxEvents)
    } catch (cause) {
      // Rejected or lost in flight: not acknowledged. (It may still have been stored; then every node,
      // this one included, delivers it as usual.)
      throw unavailable('the event was not acknowledged', cause)
    }
    return { id, topics, event: event.event, data: event.data, time: Number(id.slice(0, id.indexOf('-'))) }
  }

  async readAfter(
    afterId: string,
    match: (topics: readonly string[]) => boolean,
    page?: ReadPage,
  ): Promise<ReadAfterResult> {
    // Not the text of a stream id: it was never an id of this stream (memory ids, other systems, junk).
    if (!isStreamId(afterId)) return reset('unknown')
    // The replay ends where this node's live feed stands right now: everything after `bound` reaches
    // the caller's listener live (the hub holds it during the replay), so no event comes both ways.
    // XRANGE alone would run ahead of this node's XREAD and an event could be replayed and then
    // delivered live again.
    let bound = this.#lastSeen
    let info: Awaited<ReturnType<typeof streamInfo>>
    try {
      info = await streamInfo(this.#cmd, this.#keys.stream)
    } catch (cause) {
      throw unavailable('the replay could not be read', cause)
    }
    // No stream, or an id after every id ever assigned: it is not an id of this stream (or of this data set).
    if (info === undefined || compareStreamIds(afterId, info.lastGeneratedId) > 0) return reset('unknown')
    if (info.firstId === undefined) {
      // Empty stream: nothing missed only if the client already has the newest id ever assigned.
      return afterId === info.lastGeneratedId ? { kind: 'events', events: [] } : reset('expired')
    }
    // The client's own event is gone (trimmed), so what followed it may be gone too.
    if (compareStreamIds(afterId, info.firstId) < 0) return reset('expired')
    if (compareStreamIds(afterId, bound) > 0) {
      // The client saw, on another node, an event this node has not read yet (a few ms behind):
      // wait until this node's feed passes it, so nothing up to the client's id is delivered live.
      await this.#caughtUp(afterId)
      bound = this.#lastSeen
    }
    const events: StoredEvent[] = []
    let cursor = afterId
    // With a page: one XRANGE of at most page.maxEvents entries (Redis sends an entry whole, so the
    // count is the bound; the hub sizes it from the events it saw). Without: every page up to `bound`.
    const count = page === undefined ? REPLAY_PAGE : Math.max(1, Math.min(REPLAY_PAGE, page.maxEvents))
    try {
      for (;;) {
        const entries = await rangeAfter(this.#cmd, this.#keys.stream, cursor, bound, count)
        for (const event of entries) if (match(event.topics)) events.push(event)
        if (entries.length < count) break
        cursor = (entries[entries.length - 1] as StoredEvent).id
        if (page !== undefined)
          return cursor === bound ? { kind: 'events', events } : { kind: 'events', events, next: cursor }
      }
    } catch (cause) {
      throw unavailable('the replay could not be read', cause)
    }
    return { kind: 'events', events }
  }

  /** Resolves once the live feed has delivered `id`; rejects after commandTimeoutMs (reader stuck or down). */
  #caughtUp(id: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#catchUp.delete(waiter)
        reject(unavailable(`this node's reader did not reach ${id} within ${this.#commandTimeoutMs} ms`))
      }, this.#commandTimeoutMs)
      const waiter = {
        id,
        wake: () => {
          clearTimeout(timer)
          resolve()
        },
        fail: (error: Error) => {
          clearTimeout(timer)
          reject(error)
        },
      }
      this.#catchUp.add(waiter)
    })
  }

  lastId(): string | undefined {
    return this.#lastSeen === STREAM_START ? undefined : this.#lastSeen
  }

  compare(a: string, b: string): number {
    return compareStreamIds(a, b)
  }

  subscribe(listener: HistoryListener): () => void {
    return this.#listeners.add(listener)
  }

  size(): number {
    return this.#size
  }

  ready(): boolean {
    return (
      !this.#closed &&
      this.#synced &&
      this.#probeOk &&
      this.#cmd.status === 'ready' &&
      this.#reader.status === 'ready'
    )
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#synced = false
    this.#listeners.clear()
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#stop.abort()
    for (const waiter of this.#catchUp) waiter.fail(unavailable('the history closed during a replay'))
    this.#catchUp.clear()
    // disconnect() ends the blocked XREAD at once (quit would wait for BLOCK_MS).
    this.#reader.disconnect()
    await this.#cmd.quit().catch(() => this.#cmd.disconnect())
    await this.#loop
  }

  /**
   * Checks that Redis still holds what this node delivered, then positions the reader. First call:
   * adopt the data set (claim or read its run id) and start after its newest id.
   */
  async #sync(): Promise<void> {
    const { stream, epoch: epochKey } = this.#keys
    if (this.#epoch === undefined) {
      const epoch = await claimEpoch(this.#cmd, epochKey, randomUUID())
      const info = await streamInfo(this.#cmd, stream)
      this.#epoch = epoch
      this.#lastSeen = info?.lastGeneratedId ?? STREAM_START
      this.#size = info?.length ?? 0
      this.#synced = true
      return
    }
    const epoch = await readEpoch(this.#cmd, epochKey)
    const info = await streamInfo(this.#cmd, stream)
    const kept =
      epoch === this.#epoch &&
      (this.#lastSeen === STREAM_START ||
        (info !== undefined && compareStreamIds(info.lastGeneratedId, this.#lastSeen) >= 0))
    if (!kept) {
      // Redis came back without (some of) what it acknowledged: a restart without persistence, a
      // failover to a replica that lagged, a FLUSHALL. Streams get lifeline:reset and read the new data set.
      this.#epoch = await claimEpoch(this.#cmd, epochKey, randomUUID())
      this.#lastSeen = STREAM_START
      this.#size = info?.length ?? 0
      this.#synced = true
      this.#emitReset('backend_lost')
      return
    }
    this.#size = info?.length ?? 0
    this.#synced = true
  }

  async #readLoop(): Promise<void> {
    let failures = 0
    while (!this.#closed) {
      try {
        if (!this.#synced) {
          if (this.#cmd.status !== 'ready' || this.#reader.status !== 'ready') {
            await this.#connected()
            continue
          }
          await this.#sync()
          this.#report()
        }
        const events = await readEntriesBlocking(
          this.#reader,
          this.#keys.stream,
          this.#lastSeen,
          READ_BATCH,
          BLOCK_MS,
        )
        failures = 0
        for (const event of events) this.#deliver(event)
        if (this.#catchUp.size > 0 && events.length > 0) this.#wakeCaughtUp()
      } catch {
        // The connection dropped mid-command, or Redis answered an error: re-sync before reading on.
        if (this.#closed) return
        this.#synced = false
        failures++
        await sleep(Math.min(RETRY_MIN_MS * failures, RETRY_MAX_MS), undefined, {
          signal: this.#stop.signal,
        }).catch(() => {})
      }
    }
  }

  /** Resolves when a connection that was not ready turns ready, or after RETRY_MAX_MS, or on close. */
  async #connected(): Promise<void> {
    const waiting = [this.#cmd, this.#reader].filter((conn) => conn.status !== 'ready')
    if (waiting.length === 0) return
    const signal = AbortSignal.any([this.#stop.signal, AbortSignal.timeout(RETRY_MAX_MS)])
    await Promise.race(
      waiting.map((conn) => once(conn as unknown as EventEmitter, 'ready', { signal }).catch(() => {})),
    )
  }

  #deliver(event: StoredEvent): void {
    // Exactly once, in order: XREAD returns ids after #lastSeen, ascending; the guard also holds if a
    // reply ever overlapped the previous one.
    if (compareStreamIds(event.id, this.#lastSeen) <= 0) return
    this.#lastSeen = event.id
    this.#size++
    this.#listeners.notify(event)
  }

  #wakeCaughtUp(): void {
    for (const waiter of this.#catchUp) {
      if (compareStreamIds(waiter.id, this.#lastSeen) > 0) continue
      this.#catchUp.delete(waiter)
      waiter.wake()
    }
  }

  #emitReset(reason: ResetReason): void {
    this.#listeners.reset(reason)
  }

  /** Tells onStatus when ready() changed, or the reason it is not ready did. */
  #report(): void {
    if (this.#onStatus === undefined || this.#closed) return
    if (this.ready()) {
      if (this.#reported?.ready === true) return
      this.#reported = { ready: true }
      // A later outage is explained by its own errors, not by one from before this sync.
      this.#lastError = undefined
      this.#onStatus({ ready: true, url: this.#url })
      return
    }
    const reason =
      this.#lastError !== undefined
        ? reasonOf(this.#lastError)
        : this.#reported?.ready === true
          ? 'the connection was lost'
          : undefined
    // Still connecting with nothing known yet, or the same reason again (every retry repeats it).
    if (reason === undefined || (this.#reported?.ready === false && this.#reported.reason === reason)) return
    this.#reported = { ready: false, reason }
    this.#onStatus({ ready: false, url: this.#url, reason })
  }

  /** Once a second: age trim, the size gauge, and a liveness probe (a silent partition makes it fail). */
  async #maintain(): Promise<void> {
    if (this.#maintaining || this.#closed || this.#cmd.status !== 'ready') return
    this.#maintaining = true
    try {
      if (this.#ttlMs > 0) await trimBefore(this.#cmd, this.#keys.stream, Date.now() - this.#ttlMs)
      this.#size = await streamLength(this.#cmd, this.#keys.stream)
      this.#probeOk = true
    } catch (error) {
      this.#probeOk = false
      if (error instanceof Error && /timed out/i.test(error.message)) {
        // No answer in commandTimeoutMs on an open socket: a silent partition or a stuck Redis. The
        // blocked XREAD would not notice for minutes (TCP keep-alive); reconnect both connections, and
        // the reader checks and resumes from its last id as after any outage.
        this.#synced = false
        this.#cmd.disconnect(true)
        this.#reader.disconnect(true)
      } else if (this.#cmd.status === 'ready') {
        this.#onError(new Error(`Redis maintenance failed on ${this.#url}`, { cause: error }))
      }
    } finally {
      this.#maintaining = false
    }
  }
}

function reset(reason: ResetReason): ReadAfterResult {
  return { kind: 'reset', reason }
}
