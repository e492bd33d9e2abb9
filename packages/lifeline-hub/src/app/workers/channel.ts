/**
 * The IPC channel between the primary and one worker (node:child_process `fork`): messages queued in
 * one event-loop turn leave as one IPC message (one JSON encode, one pipe write), so a flood of
 * publishes costs one round trip per turn, not one per event. Order is kept: a channel is FIFO.
 *
 * History messages (sequencer.ts) travel wrapped as `{ h: ... }` so they never mix with the hub's own
 * control messages (control.ts).
 */
import type { ChildProcess } from 'node:child_process'
import type { SequencerLink } from 'lifeline-sse/server'
import type { ControlMessage } from './control.ts'

type Wire = ControlMessage | { readonly h: unknown }

/** `process` in a worker, or the primary's `ChildProcess` of a worker. */
interface IpcEnd {
  readonly connected: boolean
  send?: ChildProcess['send'] | undefined
  on(event: 'message', listener: (message: unknown) => void): unknown
  off(event: 'message', listener: (message: unknown) => void): unknown
}

export class Channel {
  readonly #end: IpcEnd
  #queue: Wire[] = []
  #scheduled = false
  readonly #control = new Set<(m: ControlMessage) => void>()
  readonly #history = new Set<(m: unknown) => void>()
  /** History messages that came before anyone listened for them (a worker connects its history only
   *  after its start message); handed to the first listener, in order. */
  #backlog: unknown[] | undefined = []
  readonly #flushBound = () => this.#flush()
  readonly #receiveBound = (batch: unknown) => this.#receive(batch)

  constructor(end: IpcEnd) {
    this.#end = end
    end.on('message', this.#receiveBound)
  }

  send(message: ControlMessage): void {
    this.#push(message)
  }

  onControl(listener: (m: ControlMessage) => void): () => void {
    this.#control.add(listener)
    return () => this.#control.delete(listener)
  }

  /** The history link of this channel, as `Sequencer.attach` or `RemoteHistory.connect` takes it. */
  historyLink<Out, In>(): SequencerLink<Out, In> {
    return {
      send: (message: Out) => this.#push({ h: message }),
      onMessage: (listener: (message: In) => void) => {
        const l = listener as (m: unknown) => void
        this.#history.add(l)
        // After the caller's registration returned (it may need its unsubscribe function first).
        if (this.#backlog !== undefined) queueMicrotask(() => this.#drainBacklog())
        return () => this.#history.delete(l)
      },
    }
  }

  /** Stops receiving; queued messages are dropped. */
  close(): void {
    this.#end.off('message', this.#receiveBound)
    this.#queue = []
    this.#control.clear()
    this.#history.clear()
  }

  #push(message: Wire): void {
    this.#queue.push(message)
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(this.#flushBound)
    }
  }

  #flush(): void {
    this.#scheduled = false
    const batch = this.#queue
    if (batch.length === 0) return
    this.#queue = []
    // A worker that already exited has no channel: what was queued for it is lost with it.
    if (!this.#end.connected || this.#end.send === undefined) return
    // With a callback a failed send is reported here instead of as an 'error' event (which, with no
    // listener, would crash the primary): the other end went away, and its exit is handled by
    // whoever watches that process (primary.ts restarts a worker; a worker drains without a primary).
    this.#end.send(batch, undefined, undefined, () => {})
  }

  #drainBacklog(): void {
    const backlog = this.#backlog
    if (backlog === undefined || this.#history.size === 0) return
    this.#backlog = undefined
    for (const m of backlog) this.#deliverHistory(m)
  }

  #deliverHistory(m: unknown): void {
    // A copy: a listener may hand over to another one mid-delivery (RemoteHistory.connect does).
    for (const l of [...this.#history]) l(m)
  }

  #receive(batch: unknown): void {
    if (!Array.isArray(batch)) return
    for (const m of batch as Wire[]) {
      if ('h' in m) {
        if (this.#backlog !== undefined) this.#backlog.push(m.h)
        else this.#deliverHistory(m.h)
      } else {
        for (const l of this.#control) l(m)
      }
    }
  }
}
