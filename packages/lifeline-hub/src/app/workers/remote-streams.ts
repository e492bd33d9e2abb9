/**
 * Finite streams with `--workers` (memory or `--history-file`): the stream records live once, in the
 * primary, next to the history they are stored in (one `MemoryStreamStore` / `FileStreamStore` over
 * the sequencer's store). A worker's `StreamStore` is this client: every call is a request to the
 * primary, every `watch` a subscription there. So a stream created through one worker is read,
 * appended to, closed and joined through any other, and its entries are events of the one history.
 *
 * `fork.split` (a function) does not cross processes: the primary rebuilds it from the new stream's
 * content type, as the Durable Streams endpoint builds it (durable/payload.ts `splitter`).
 */
import type {
  AppendRequest,
  AppendResult,
  CreateRequest,
  CreateResult,
  DeleteResult,
  ReadResult,
  StreamChange,
  StreamInfo,
  StreamStore,
} from 'lifeline-sse/server'
import { offsetCodec } from 'lifeline-sse/server'
import type { Channel } from './channel.ts'
import type { StreamCall, StreamStats } from './control.ts'

export class RemoteStreamStore implements StreamStore {
  readonly #channel: Channel
  readonly #offsets: ReturnType<typeof offsetCodec>
  readonly #pending = new Map<number, (result: unknown) => void>()
  readonly #watchers = new Map<number, (change: StreamChange) => void>()
  #next = 1
  #stats: StreamStats = { streams: 0, bytes: 0 }
  #closed = false

  /** `history`: the worker's RemoteHistory (its epoch gives the offsets of the primary's ids). */
  constructor(channel: Channel, history: object) {
    this.#channel = channel
    this.#offsets = offsetCodec(history)
    channel.onControl((m) => {
      if (m.t === 'streamed') {
        this.#stats = m.stats
        const resolve = this.#pending.get(m.r)
        if (resolve === undefined) return
        this.#pending.delete(m.r)
        resolve(m.result)
      } else if (m.t === 'changed') {
        this.#watchers.get(m.w)?.(m.change)
      }
    })
  }

  #call<T>(call: StreamCall): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('stream store is closed'))
    const r = this.#next++
    return new Promise((resolve) => {
      this.#pending.set(r, resolve as (result: unknown) => void)
      this.#channel.send({ t: 'stream', r, call })
    })
  }

  create(name: string, request: CreateRequest): Promise<CreateResult> {
    const fork = request.fork
    // The splitter is rebuilt in the primary from the content type (see the header).
    const plain: CreateRequest =
      fork === undefined ? request : { ...request, fork: { ...fork, split: undefined } }
    return this.#call({ op: 'create', name, request: plain, split: fork?.split !== undefined })
  }

  append(name: string, request: AppendRequest): Promise<AppendResult> {
    return this.#call({ op: 'append', name, request })
  }

  read(name: string, after: string, limit: number, touch: boolean): Promise<ReadResult> {
    return this.#call({ op: 'read', name, after, limit, touch })
  }

  readLast(name: string, count: number): Promise<ReadResult> {
    return this.#call({ op: 'readLast', name, count })
  }

  info(name: string, touch: boolean): Promise<StreamInfo | 'not_found' | 'gone'> {
    return this.#call({ op: 'info', name, touch })
  }

  delete(name: string): Promise<DeleteResult> {
    return this.#call({ op: 'delete', name })
  }

  offsetOf(id: string): string | undefined {
    return this.#offsets.fromId(id)
  }

  watch(name: string, listener: (change: StreamChange) => void): () => void {
    const w = this.#next++
    this.#watchers.set(w, listener)
    this.#channel.send({ t: 'watch', w, name })
    return () => {
      if (!this.#watchers.delete(w)) return
      this.#channel.send({ t: 'unwatch', w })
    }
  }

  /** As of the primary's last answer. */
  stats(): { streams: number; bytes: number } {
    return this.#stats
  }

  close(): Promise<void> {
    this.#closed = true
    for (const w of this.#watchers.keys()) this.#channel.send({ t: 'unwatch', w })
    this.#watchers.clear()
    return Promise.resolve()
  }
}
