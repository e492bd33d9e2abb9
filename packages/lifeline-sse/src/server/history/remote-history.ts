/**
 * The `History` of a hub whose ids come from a sequencer in another process (sequencer.ts): appends
 * and replays are requests over the link, the live feed is the sequencer's, in id order. The hub sees
 * the same contract as with Redis: `append` resolves once the one store holds the event, and the hub
 * fans out only what the feed reports (its own appends included).
 *
 * When the link goes away (`disconnect()`), pending requests reject, `ready()` turns false and new
 * appends reject: nothing is acknowledged that the sequencer did not store.
 */
import { LifelineError } from '../../protocol/errors.ts'
import type {
  History,
  HistoryErrorOptions,
  HistoryListener,
  ReadAfterResult,
  StoredEvent,
} from './history.ts'
import { compareIds } from './ids.ts'
import { HistoryListeners } from './listeners.ts'
import type { SequencerLink, SequencerReply, SequencerRequest } from './sequencer.ts'

export interface RemoteHistoryOptions extends HistoryErrorOptions {
  /** ms to wait for the sequencer's hello before `connect` rejects. @default 10_000 */
  helloTimeoutMs?: number
}

type Pending = {
  readonly resolve: (reply: SequencerReply) => void
  readonly reject: (error: Error) => void
}

function unavailable(what: string): LifelineError {
  return new LifelineError(
    'LIFELINE_ERR_BACKEND_UNAVAILABLE',
    `the sequencer is unreachable, ${what}: retry when /readyz answers 200`,
  )
}

export class RemoteHistory implements History {
  readonly epoch: string
  readonly #link: SequencerLink<SequencerRequest, SequencerReply>
  readonly #pending = new Map<number, Pending>()
  readonly #listeners: HistoryListeners
  #nextRequest = 1
  #last: string | undefined
  #size: number
  #connected = true
  #off: () => void

  /** Waits for the sequencer's hello on `link`, then serves as this hub's history. */
  static connect(
    link: SequencerLink<SequencerRequest, SequencerReply>,
    options: RemoteHistoryOptions = {},
  ): Promise<RemoteHistory> {
    return new Promise((resolve, reject) => {
      let history: RemoteHistory | undefined
      const timer = setTimeout(() => {
        off()
        reject(unavailable('no hello in time'))
      }, options.helloTimeoutMs ?? 10_000)
      const off = link.onMessage((m) => {
        // The sequencer sends hello first on every link; nothing before it is ours to read.
        if (history !== undefined || m.t !== 'hello') return
        clearTimeout(timer)
        off()
        history = new RemoteHistory(link, m.epoch, m.last, m.size, options)
        resolve(history)
      })
    })
  }

  private constructor(
    link: SequencerLink<SequencerRequest, SequencerReply>,
    epoch: string,
    last: string | undefined,
    size: number,
    options: RemoteHistoryOptions,
  ) {
    this.#listeners = new HistoryListeners(options.onError)
    this.#link = link
    this.epoch = epoch
    this.#last = last
    this.#size = size
    this.#off = link.onMessage((m) => this.#receive(m))
  }

  #receive(m: SequencerReply): void {
    if (m.t === 'event') {
      this.#last = m.e.id
      this.#size = m.size
      this.#listeners.notify(m.e)
      return
    }
    if (m.t === 'hello') return
    const pending = this.#pending.get(m.r)
    if (m.t !== 'failed') this.#size = m.size
    if (pending === undefined) return
    this.#pending.delete(m.r)
    if (m.t === 'failed') {
      // The sequencer's store refused (closed, disk full...): nothing was stored or read.
      pending.reject(
        new LifelineError('LIFELINE_ERR_BACKEND_UNAVAILABLE', `the sequencer's history: ${m.message}`),
      )
    } else pending.resolve(m)
  }

  #request(build: (r: number) => SequencerRequest, what: string): Promise<SequencerReply> {
    if (!this.#connected) return Promise.reject(unavailable(what))
    const r = this.#nextRequest++
    return new Promise((resolve, reject) => {
      this.#pending.set(r, { resolve, reject })
      this.#link.send(build(r))
    })
  }

  async append(
    topics: readonly string[],
    input: { readonly data: string; readonly event?: string | undefined },
  ): Promise<StoredEvent> {
    const reply = await this.#request(
      (r) =>
        input.event === undefined
          ? { t: 'append', r, topics, data: input.data }
          : { t: 'append', r, topics, data: input.data, event: input.event },
      'nothing was stored',
    )
    if (reply.t !== 'appended') throw new Error(`unexpected sequencer reply ${reply.t}`)
    // The feed delivered the stored event before this answer (one ordered link).
    return { id: reply.id, topics: topics.slice(), event: input.event, data: input.data, time: reply.time }
  }

  async readAfter(afterId: string, match: (topics: readonly string[]) => boolean): Promise<ReadAfterResult> {
    const reply = await this.#request((r) => ({ t: 'read', r, after: afterId }), 'the replay failed')
    if (reply.t === 'reset') return { kind: 'reset', reason: reply.reason }
    if (reply.t !== 'events') throw new Error(`unexpected sequencer reply ${reply.t}`)
    return { kind: 'events', events: reply.events.filter((e) => match(e.topics)) }
  }

  lastId(): string | undefined {
    return this.#last
  }

  compare(a: string, b: string): number {
    return compareIds(this.epoch, a, b)
  }

  subscribe(listener: HistoryListener): () => void {
    return this.#listeners.add(listener)
  }

  size(): number {
    return this.#size
  }

  ready(): boolean {
    return this.#connected
  }

  /** The link is gone (the sequencer's process exited): every pending and later request rejects. */
  disconnect(): void {
    if (!this.#connected) return
    this.#connected = false
    this.#off()
    const error = unavailable('the link closed')
    for (const p of this.#pending.values()) p.reject(error)
    this.#pending.clear()
  }

  close(): Promise<void> {
    this.disconnect()
    this.#listeners.clear()
    return Promise.resolve()
  }
}
