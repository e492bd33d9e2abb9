/**
 * What the in-process stores (memory ring, file) share: ids `<epoch>-<seq>` (ids.ts) from one counter,
 * the count and bytes held, the live listeners and the closed flag. Each store keeps its own storage,
 * trimming, `append` and `readAfter`; it calls `notify` once an event is stored and `resumeCheck` first
 * in `readAfter`.
 */
import { LifelineError } from '../../protocol/errors.ts'
import type {
  History,
  HistoryErrorHandler,
  HistoryListener,
  ReadAfterResult,
  ReadPage,
  StoredEvent,
} from './history.ts'
import { compareIds, formatId, parseSeq } from './ids.ts'
import { HistoryListeners } from './listeners.ts'

/** What `append` takes besides the topics. */
export type EventInput = { readonly data: string; readonly event?: string | undefined }
/** `readAfter`'s filter on an event's topics. */
export type TopicMatch = (topics: readonly string[]) => boolean

const UNKNOWN: ReadAfterResult = Object.freeze({ kind: 'reset', reason: 'unknown' })
const EXPIRED: ReadAfterResult = Object.freeze({ kind: 'reset', reason: 'expired' })

export abstract class SeqStore implements History {
  abstract readonly epoch: string
  /** Seq of the oldest event kept (equals nextSeq when empty). Kept seqs are contiguous. */
  protected firstSeq = 1
  /** The seq the next append gets; a seq is never reused. */
  protected nextSeq = 1
  protected count = 0
  protected totalBytes = 0
  protected closed = false
  readonly #listeners: HistoryListeners

  constructor(onError?: HistoryErrorHandler) {
    this.#listeners = new HistoryListeners(onError)
  }

  abstract append(topics: readonly string[], input: EventInput): Promise<StoredEvent>

  abstract readAfter(afterId: string, match: TopicMatch, page?: ReadPage): Promise<ReadAfterResult>

  /** The newest id ever assigned (even when since trimmed), or undefined before the first append. */
  lastId(): string | undefined {
    return this.nextSeq > 1 ? formatId(this.epoch, this.nextSeq - 1) : undefined
  }

  compare(a: string, b: string): number {
    return compareIds(this.epoch, a, b)
  }

  subscribe(listener: HistoryListener): () => void {
    return this.#listeners.add(listener)
  }

  size(): number {
    return this.count
  }

  /** Payload bytes held now. */
  bytes(): number {
    return this.totalBytes
  }

  ready(): boolean {
    return !this.closed
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true
      this.#listeners.clear()
      this.release()
    }
    return Promise.resolve()
  }

  /** What `append` rejects with once the store is closed. */
  protected closedError(what: string): LifelineError {
    return new LifelineError(
      'LIFELINE_ERR_BACKEND_UNAVAILABLE',
      `${what} is closed, nothing was stored: publish through a hub whose history is open`,
    )
  }

  /** Frees what the store holds (files); runs once, on the first `close`. */
  protected release(): void {}

  /** The event stored as seq `seq` (its id is `<epoch>-<seq>`), at wall-clock ms `time`. */
  protected storedEvent(
    seq: number,
    topics: readonly string[],
    input: EventInput,
    time: number,
  ): StoredEvent {
    return {
      id: formatId(this.epoch, seq),
      topics: topics.slice(),
      event: input.event,
      data: input.data,
      time,
    }
  }

  /** Listeners run synchronously, in id order, once per stored event (the hub fans out from here);
   *  one that throws is reported to `onError` (listeners.ts). */
  protected notify(event: StoredEvent): void {
    this.#listeners.notify(event)
  }

  /**
   * The seq after which `afterId` resumes, or the reset to send: `unknown` for an id of another epoch or
   * past the newest id assigned (never ours), `expired` when the event right after it was trimmed (the
   * client may have missed it). Call after trimming.
   */
  protected resumeCheck(afterId: string): number | ReadAfterResult {
    const seq = parseSeq(afterId, this.epoch)
    if (seq === undefined || seq >= this.nextSeq) return UNKNOWN
    if (seq < this.firstSeq - 1) return EXPIRED
    return seq
  }
}
