/**
 * One history, several hub processes: the sequencer is the one place that assigns ids. It serves an
 * in-process store (memory ring or file) to hubs in other processes over message links; each of those
 * hubs uses a `RemoteHistory` (remote-history.ts) as its `History`, as a cluster node uses Redis.
 *
 * - append: a hub sends the event; the sequencer stores it (the store assigns the id) and answers with
 *   the id. Ids therefore stay in one total order whichever process took the publish.
 * - live: every stored event goes to every attached link, in id order (one ordered link per hub), and
 *   each hub fans it out to its own streams. A publish on any process reaches every process's streams.
 * - replay: a hub asks for the events after an id; the sequencer answers from the one store, without
 *   the topic filter (a filter is a function and does not cross a process boundary: the hub filters,
 *   as the Redis backend filters an XRANGE page). The reply travels on the same ordered link as the
 *   live feed, so a hub sees every event once: before the reply (in it or held), or after it (live).
 *
 * Transport: anything that carries messages in order between two processes or threads
 * (`child_process` IPC, a `worker_threads` MessagePort). Messages are plain JSON-safe objects.
 */
import type { History, ResetReason, StoredEvent } from './history.ts'

/** A store the sequencer can serve: ids `<epoch>-<seq>` (memory ring, file store), so peers compare them. */
export type SequencedStore = History & { readonly epoch: string }

/** Hub -> sequencer. `r` numbers a request on its link; the answer carries it back. */
export type SequencerRequest =
  | {
      readonly t: 'append'
      readonly r: number
      readonly topics: readonly string[]
      readonly data: string
      readonly event?: string | undefined
    }
  | { readonly t: 'read'; readonly r: number; readonly after: string }

/** Sequencer -> hub. */
export type SequencerReply =
  /** First message on a link: what the hub needs to compare ids and answer `lastId`/`size` at once. */
  | { readonly t: 'hello'; readonly epoch: string; readonly last: string | undefined; readonly size: number }
  /** One stored event of the live feed, with the store's size after it. */
  | { readonly t: 'event'; readonly e: StoredEvent; readonly size: number }
  /** Answers to requests carry the store's size then (a read may have trimmed by age). */
  | {
      readonly t: 'appended'
      readonly r: number
      readonly id: string
      readonly time: number
      readonly size: number
    }
  | {
      readonly t: 'events'
      readonly r: number
      readonly events: readonly StoredEvent[]
      readonly size: number
    }
  | { readonly t: 'reset'; readonly r: number; readonly reason: ResetReason; readonly size: number }
  | { readonly t: 'failed'; readonly r: number; readonly message: string }

/** One end of an ordered message link (send and receive), as the sequencer or a remote history sees it. */
export interface SequencerLink<Out, In> {
  send(message: Out): void
  /** Registers the receiver; returns a function that removes it. */
  onMessage(listener: (message: In) => void): () => void
}

const ALL = () => true

/** Serves `store` to every attached link. The store is the sequencer's; close it after `close()`. */
export class Sequencer {
  readonly #store: SequencedStore
  readonly #links = new Set<SequencerLink<SequencerReply, SequencerRequest>>()
  readonly #unsubscribe: () => void

  constructor(store: SequencedStore) {
    this.#store = store
    this.#unsubscribe = store.subscribe({
      onEvent: (e) => {
        const message: SequencerReply = { t: 'event', e, size: store.size() }
        for (const link of this.#links) link.send(message)
      },
    })
  }

  get store(): SequencedStore {
    return this.#store
  }

  /** Starts serving one hub: hello, then its requests and the live feed. Returns a detach function. */
  attach(link: SequencerLink<SequencerReply, SequencerRequest>): () => void {
    const store = this.#store
    // Hello and joining the feed happen in one synchronous step: nothing is stored in between, so the
    // hub's `lastId` and its feed meet without a gap.
    link.send({ t: 'hello', epoch: store.epoch, last: store.lastId(), size: store.size() })
    this.#links.add(link)
    const off = link.onMessage((m) => this.#serve(link, m))
    return () => {
      off()
      this.#links.delete(link)
    }
  }

  #serve(link: SequencerLink<SequencerReply, SequencerRequest>, m: SequencerRequest): void {
    if (!this.#links.has(link)) return
    if (m.t === 'append') {
      const input = m.event === undefined ? { data: m.data } : { data: m.data, event: m.event }
      this.#store.append(m.topics, input).then(
        (stored) =>
          link.send({ t: 'appended', r: m.r, id: stored.id, time: stored.time, size: this.#store.size() }),
        (error: unknown) => link.send({ t: 'failed', r: m.r, message: (error as Error).message }),
      )
      return
    }
    if (m.t === 'read') {
      this.#store.readAfter(m.after, ALL).then(
        (result) =>
          link.send(
            result.kind === 'events'
              ? { t: 'events', r: m.r, events: result.events, size: this.#store.size() }
              : { t: 'reset', r: m.r, reason: result.reason, size: this.#store.size() },
          ),
        (error: unknown) => link.send({ t: 'failed', r: m.r, message: (error as Error).message }),
      )
    }
  }

  /** Stops serving every link (the store stays open: its owner closes it). */
  close(): void {
    this.#unsubscribe()
    this.#links.clear()
  }
}
