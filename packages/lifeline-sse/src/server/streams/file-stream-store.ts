/**
 * Finite streams in the `--history-file` (node:sqlite): the memory store, with every change journaled
 * to two tables of the same file before the request is answered, and read back at start. Streams,
 * their entries, closes, producer states and forks survive a restart, and their ids stay valid (the
 * history file keeps its epoch).
 *
 * Each change of a stream (its record and the entries it added) is one transaction; the history's own
 * append commits just before it. A crash between the two leaves an event in the history that the
 * stream does not hold (a retry then stores it once more, with a new id); never an entry the stream
 * acknowledged and lost. A sliding TTL restarts from the last write after a restart (reads are not
 * journaled).
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { loadSqlite } from '../sqlite.ts'
import { MemoryStreamStore, type MemoryStreamStoreOptions, type StreamRecord } from './memory-stream-store.ts'
import type { PersistedState, StreamEntry } from './stream-store.ts'

export interface FileStreamStoreOptions extends MemoryStreamStoreOptions {
  /** The SQLite file (the `--history-file`): two tables, `lifeline_streams` and `lifeline_stream_entries`. */
  path: string
}

/** What a stream's row holds besides its entries. */
interface Meta extends PersistedState {
  touchedAt: number
}

export class FileStreamStore extends MemoryStreamStore {
  readonly #db: DatabaseSync
  readonly #st: {
    upsert: StatementSync
    insert: StatementSync
    deleteStream: StatementSync
    deleteEntries: StatementSync
  }

  constructor(options: FileStreamStoreOptions) {
    super(options)
    const sqlite = loadSqlite('file streams')
    const db = new sqlite.DatabaseSync(options.path)
    this.#db = db
    db.exec('PRAGMA journal_mode = WAL')
    db.exec('PRAGMA busy_timeout = 5000')
    db.exec(`
      CREATE TABLE IF NOT EXISTS lifeline_streams (name TEXT PRIMARY KEY, meta TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS lifeline_stream_entries (
        name TEXT NOT NULL, offset TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (name, offset)
      ) WITHOUT ROWID;
    `)
    this.#st = {
      upsert: db.prepare(
        'INSERT INTO lifeline_streams (name, meta) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET meta = excluded.meta',
      ),
      insert: db.prepare(
        'INSERT OR IGNORE INTO lifeline_stream_entries (name, offset, id, data) VALUES (?, ?, ?, ?)',
      ),
      deleteStream: db.prepare('DELETE FROM lifeline_streams WHERE name = ?'),
      deleteEntries: db.prepare('DELETE FROM lifeline_stream_entries WHERE name = ?'),
    }
    this.#load()
  }

  /** Rebuilds every record (forks point at their source's record, so sources load first). */
  #load(): void {
    const rows = this.#db.prepare('SELECT name, meta FROM lifeline_streams').all() as {
      name: string
      meta: string
    }[]
    const entries = this.#db.prepare(
      'SELECT offset, id, data FROM lifeline_stream_entries WHERE name = ? ORDER BY offset',
    )
    const metas = new Map(rows.map((r) => [r.name, JSON.parse(r.meta) as Meta]))
    const built = new Map<string, StreamRecord>()
    const build = (name: string, meta: Meta): StreamRecord => {
      const done = built.get(name)
      if (done !== undefined) return done
      const list = entries.all(name) as unknown as StreamEntry[]
      let bytes = 0
      for (const e of list) bytes += e.data.length
      const sourceMeta = meta.fork === undefined ? undefined : metas.get(meta.fork.from)
      const source =
        meta.fork !== undefined && sourceMeta !== undefined ? build(meta.fork.from, sourceMeta) : undefined
      const record: StreamRecord = {
        name,
        config: meta.config,
        closed: meta.closed,
        endId: meta.endId,
        closedBy: meta.closedBy,
        entries: list.map((e) => ({ id: e.id, offset: e.offset, data: e.data })),
        bytes,
        fork:
          source !== undefined && meta.fork !== undefined
            ? { from: source, offset: meta.fork.offset }
            : undefined,
        forkRequest: meta.forkRequest,
        forks: 0,
        softDeleted: meta.softDeleted,
        producers: new Map(meta.producers),
        streamSeq: meta.streamSeq,
        keys: new Map(meta.keys ?? []),
        touchedAt: meta.touchedAt,
        createdAt: meta.createdAt,
      }
      if (source !== undefined) source.forks++
      built.set(name, record)
      return record
    }
    for (const [name, meta] of metas) this.adopt(build(name, meta))
  }

  protected override saved(record: StreamRecord, added: readonly StreamEntry[]): void {
    const meta: Meta = {
      config: record.config,
      closed: record.closed,
      endId: record.endId,
      closedBy: record.closedBy,
      fork:
        record.fork === undefined ? undefined : { from: record.fork.from.name, offset: record.fork.offset },
      forkRequest: record.forkRequest,
      softDeleted: record.softDeleted,
      producers: [...record.producers],
      streamSeq: record.streamSeq,
      keys: [...record.keys],
      touchedAt: record.touchedAt,
      createdAt: record.createdAt,
    }
    this.#db.exec('BEGIN IMMEDIATE')
    try {
      this.#st.upsert.run(record.name, JSON.stringify(meta))
      for (const e of added) this.#st.insert.run(record.name, e.offset, e.id, e.data)
      this.#db.exec('COMMIT')
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK')
      throw err
    }
  }

  protected override removed(record: StreamRecord): void {
    this.#db.exec('BEGIN IMMEDIATE')
    try {
      this.#st.deleteStream.run(record.name)
      this.#st.deleteEntries.run(record.name)
      this.#db.exec('COMMIT')
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK')
      throw err
    }
  }

  override async close(): Promise<void> {
    await super.close()
    if (this.#db.isOpen) this.#db.close()
  }
}
