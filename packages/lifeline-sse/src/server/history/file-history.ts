/**
 * File-backed history (`--history-file`) on `node:sqlite`: a single-node hub keeps its history, and its
 * ids, across restarts. Same id scheme as the memory ring (`<epoch>-<seq>`, ids.ts), but the epoch is
 * written into the file once, so ids handed out before a restart still resume after it.
 *
 * Why node:sqlite: built into Node >= 22.13 (no native addon to compile, nothing for the library to
 * depend on), one file, crash-safe transactions, and a synchronous API that keeps `append` + listener
 * calls in one tick like the memory store. It is loaded with `process.getBuiltinModule` only when a
 * FileHistory is created, so users of the memory store never load it.
 *
 * Durability: WAL journal. With `synchronous = NORMAL` (the default here) every commit reaches the WAL
 * file through write(2) before `append` resolves, so an acknowledged publish survives the process being
 * killed (kill -9, OOM, crash); only an OS crash or power loss can drop the last commits before a
 * checkpoint. `sync: 'full'` fsyncs the WAL on every commit for power-loss safety at ~1 fsync per publish.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { loadSqlite } from '../sqlite.ts'
import type { HistoryErrorOptions, ReadAfterResult, ReadPage, StoredEvent } from './history.ts'
import { formatId, newEpoch } from './ids.ts'
import { eventBytes, heldBytes, type Retention, type RetentionOptions, retention } from './retention.ts'
import { type EventInput, SeqStore, type TopicMatch } from './seq-store.ts'

export interface FileHistoryOptions extends RetentionOptions, HistoryErrorOptions {
  /** SQLite file path (created when missing; `-wal` and `-shm` files sit beside it). */
  path: string
  /** `normal`: survives a process kill. `full`: also survives power loss (fsync per publish). @default 'normal'. */
  sync?: 'normal' | 'full'
}

/** Payload of recently read replay rows kept in memory, shared by every stream that replays them. */
const ROW_CACHE_BYTES = 16 * 1024 * 1024
/** Longest page served from the row cache (longer pages are read from SQLite). */
const PAGE_CACHE_ROWS = 256
/** Topics are stored joined by LF: validated topics never contain one. */
const TOPIC_SEPARATOR = '\n'
const SCHEMA_VERSION = '1'

interface Row {
  seq: number
  time: number
  topics: string
  event: string | null
  data: string
}

interface Statements {
  insert: StatementSync
  firstTime: StatementSync
  firstFresh: StatementSync
  fromSeq: StatementSync
  sumBefore: StatementSync
  deleteBefore: StatementSync
  between: StatementSync
  sizesAfter: StatementSync
}

export class FileHistory extends SeqStore {
  readonly epoch: string
  readonly path: string
  readonly #retention: Retention
  readonly #db: DatabaseSync
  readonly #st: Statements
  /** Rows recently read for replay pages, by seq, bounded by ROW_CACHE_BYTES of payload. */
  readonly #rowCache = new Map<number, StoredEvent>()
  #rowCacheBytes = 0
  /** Time of the oldest row (Infinity when empty), so age trimming costs no query per append. */
  #firstTime = Number.POSITIVE_INFINITY

  /** Same as the constructor; for symmetry with stores that must connect first. */
  static open(options: FileHistoryOptions): Promise<FileHistory> {
    return Promise.resolve(new FileHistory(options))
  }

  constructor(options: FileHistoryOptions) {
    super(options.onError)
    this.#retention = retention(options)
    this.path = options.path
    const sqlite = loadSqlite('the file history')
    const db = new sqlite.DatabaseSync(options.path)
    this.#db = db
    try {
      db.exec('PRAGMA journal_mode = WAL')
      db.exec(`PRAGMA synchronous = ${options.sync === 'full' ? 'FULL' : 'NORMAL'}`)
      db.exec(`
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS events (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          time INTEGER NOT NULL,
          topics TEXT NOT NULL,
          event TEXT,
          data TEXT NOT NULL,
          bytes INTEGER NOT NULL
        );
      `)
      const getMeta = db.prepare('SELECT value FROM meta WHERE key = ?')
      const setMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)')
      const version = getMeta.get('version') as { value: string } | undefined
      if (version === undefined) setMeta.run('version', SCHEMA_VERSION)
      else if (version.value !== SCHEMA_VERSION) {
        throw new Error(
          `history file ${options.path} has schema version ${version.value}, expected ${SCHEMA_VERSION}`,
        )
      }
      const stored = getMeta.get('epoch') as { value: string } | undefined
      this.epoch = stored?.value ?? newEpoch(this.#retention.now())
      if (stored === undefined) setMeta.run('epoch', this.epoch)

      // AUTOINCREMENT keeps the highest seq ever used in sqlite_sequence, even when every row was
      // trimmed: a seq is never reused, so an old id can never point at a different event.
      const top = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").get() as
        | { seq: number }
        | undefined
      this.nextSeq = Number(top?.seq ?? 0) + 1
      const stats = db
        .prepare('SELECT MIN(seq) AS first, COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM events')
        .get() as {
        first: number | null
        n: number
        b: number
      }
      this.firstSeq = stats.first === null ? this.nextSeq : Number(stats.first)
      this.count = Number(stats.n)
      this.totalBytes = Number(stats.b)
      this.#st = {
        insert: db.prepare('INSERT INTO events (time, topics, event, data, bytes) VALUES (?, ?, ?, ?, ?)'),
        firstTime: db.prepare('SELECT time FROM events WHERE seq >= ? ORDER BY seq LIMIT 1'),
        firstFresh: db.prepare('SELECT seq FROM events WHERE seq >= ? AND time >= ? ORDER BY seq LIMIT 1'),
        fromSeq: db.prepare('SELECT seq, bytes FROM events WHERE seq >= ? ORDER BY seq'),
        sumBefore: db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM events WHERE seq < ?'),
        deleteBefore: db.prepare('DELETE FROM events WHERE seq < ?'),
        between: db.prepare(
          'SELECT seq, time, topics, event, data FROM events WHERE seq > ? AND seq <= ? ORDER BY seq',
        ),
        // octet_length reads the payload's size from the row header; `bytes`, stored after the payload,
        // would make SQLite walk every overflow page of it (~3 ms per 1 MB row, 0.005 ms this way).
        sizesAfter: db.prepare(
          'SELECT seq, octet_length(data) AS bytes FROM events WHERE seq > ? ORDER BY seq LIMIT ?',
        ),
      }
      this.#firstTime = this.#timeOf(this.firstSeq)
      // Options may have shrunk since the file was written: apply them now.
      this.#transaction(() => this.#trim(this.#retention.now()))
    } catch (err) {
      db.close()
      throw err
    }
  }

  override append(topics: readonly string[], input: EventInput): Promise<StoredEvent> {
    if (this.closed) return Promise.reject(this.closedError(`history file ${this.path}`))
    const now = this.#retention.now()
    const size = eventBytes(topics, input.data, input.event)
    let seq: number
    try {
      seq = this.#transaction(() => {
        const r = this.#st.insert.run(
          now,
          topics.join(TOPIC_SEPARATOR),
          input.event ?? null,
          input.data,
          size,
        )
        const s = Number(r.lastInsertRowid)
        this.nextSeq = s + 1
        this.count++
        this.totalBytes += size
        if (this.count === 1) this.#firstTime = now
        this.#trim(now)
        return s
      })
    } catch (err) {
      return Promise.reject(err)
    }
    const event = this.storedEvent(seq, topics, input, now)
    // Committed: now the listeners hear of it.
    this.notify(event)
    return Promise.resolve(event)
  }

  override readAfter(afterId: string, match: TopicMatch, page?: ReadPage): Promise<ReadAfterResult> {
    try {
      this.#transaction(() => this.#trim(this.#retention.now()))
      const seq = this.resumeCheck(afterId)
      if (typeof seq !== 'number') return Promise.resolve(seq)
      const last = page === undefined ? this.nextSeq - 1 : this.#pageEnd(seq, page)
      const events: StoredEvent[] = []
      for (const event of this.#rowsBetween(seq, last, page !== undefined)) {
        if (match(event.topics)) events.push(event)
      }
      return Promise.resolve(
        last < this.nextSeq - 1
          ? { kind: 'events', events, next: formatId(this.epoch, last) }
          : { kind: 'events', events },
      )
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * The rows after `from` up to `to`. Pages come from the row cache when it holds all of them: many
   * clients resuming from the same point (a reconnect storm) read each row from SQLite once.
   */
  #rowsBetween(from: number, to: number, cached: boolean): StoredEvent[] {
    const cache = this.#rowCache
    if (cached && to - from <= PAGE_CACHE_ROWS) {
      const hits: StoredEvent[] = []
      for (let s = from + 1; s <= to; s++) {
        const hit = cache.get(s)
        if (hit === undefined) break
        hits.push(hit)
      }
      if (hits.length === to - from) return hits
    }
    const rows: StoredEvent[] = []
    // Whole statements (`all`), never an iterator left open: an unfinished read would pin the WAL.
    for (const row of this.#st.between.all(from, to) as unknown as Row[]) {
      const seq = Number(row.seq)
      const event: StoredEvent = {
        id: formatId(this.epoch, seq),
        topics: row.topics.split(TOPIC_SEPARATOR),
        event: row.event ?? undefined,
        data: row.data,
        time: Number(row.time),
      }
      rows.push(event)
      if (cached) this.#cacheRow(seq, event)
    }
    return rows
  }

  #cacheRow(seq: number, event: StoredEvent): void {
    const size = heldBytes(event.data)
    if (size > ROW_CACHE_BYTES / 4 || this.#rowCache.has(seq)) return
    this.#rowCache.set(seq, event)
    this.#rowCacheBytes += size
    // Oldest inserted out first (rows are immutable; a trimmed seq is never asked for again).
    for (const [old, e] of this.#rowCache) {
      if (this.#rowCacheBytes <= ROW_CACHE_BYTES) break
      this.#rowCache.delete(old)
      this.#rowCacheBytes -= heldBytes(e.data)
    }
  }

  /** The last seq of a page after `seq`, from the payload sizes (no payload is read). */
  #pageEnd(seq: number, page: ReadPage): number {
    let bytes = 0
    let last = seq
    for (const row of this.#st.sizesAfter.all(seq, Math.max(1, page.maxEvents)) as unknown as {
      seq: number
      bytes: number
    }[]) {
      last = Number(row.seq)
      bytes += Number(row.bytes)
      if (bytes >= page.maxBytes) break
    }
    return last
  }

  protected override release(): void {
    this.#db.close()
  }

  /** Runs `fn` in one write transaction; in-memory counters are restored when it fails. */
  #transaction<R>(fn: () => R): R {
    const saved = [this.firstSeq, this.nextSeq, this.#firstTime, this.count, this.totalBytes] as const
    this.#db.exec('BEGIN IMMEDIATE')
    try {
      const out = fn()
      this.#db.exec('COMMIT')
      return out
    } catch (err) {
      ;[this.firstSeq, this.nextSeq, this.#firstTime, this.count, this.totalBytes] = saved
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK')
      throw err
    }
  }

  /** Drops the oldest rows past the age, count and byte limits (inside a transaction). */
  #trim(now: number): void {
    const { maxEvents, maxBytes, ttlMs } = this.#retention
    let first = this.firstSeq
    if (ttlMs > 0 && this.#firstTime < now - ttlMs) {
      const fresh = this.#st.firstFresh.get(first, now - ttlMs) as { seq: number } | undefined
      first = fresh === undefined ? this.nextSeq : Number(fresh.seq)
    }
    first = Math.max(first, this.nextSeq - maxEvents)
    if (first > this.firstSeq || this.totalBytes > maxBytes) {
      const before = this.#st.sumBefore.get(first) as { n: number; b: number }
      let bytes = this.totalBytes - Number(before.b)
      if (bytes > maxBytes) {
        for (const row of this.#st.fromSeq.iterate(first) as IterableIterator<{
          seq: number
          bytes: number
        }>) {
          if (bytes <= maxBytes) break
          bytes -= Number(row.bytes)
          first = Number(row.seq) + 1
        }
      }
    }
    if (first <= this.firstSeq) return
    const gone = this.#st.sumBefore.get(first) as { n: number; b: number }
    this.#st.deleteBefore.run(first)
    this.count -= Number(gone.n)
    this.totalBytes -= Number(gone.b)
    this.firstSeq = first
    this.#firstTime = this.#timeOf(first)
  }

  #timeOf(seq: number): number {
    const row = this.#st.firstTime.get(seq) as { time: number } | undefined
    return row === undefined ? Number.POSITIVE_INFINITY : Number(row.time)
  }
}
