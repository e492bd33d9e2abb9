/**
 * The primary's side of remote-streams.ts: runs every worker's `StreamStore` call on the one stream
 * store (over the sequencer's history) and forwards `watch` changes to the worker that watches.
 */
import type { StreamStore } from 'lifeline-sse/server'
import { payloadKind, splitter } from '../durable/payload.ts'
import type { Channel } from './channel.ts'
import type { ControlMessage, StreamCall } from './control.ts'

export class StreamHost {
  readonly #store: StreamStore
  /** Watches per worker: watch id -> unsubscribe. */
  readonly #watches = new Map<number, Map<number, () => void>>()

  constructor(store: StreamStore) {
    this.#store = store
  }

  /** Serves one worker's stream messages; returns false for messages that are not its. */
  serve(worker: number, channel: Channel, m: ControlMessage): boolean {
    if (m.t === 'stream') {
      this.#run(m.call).then(
        (result) => channel.send({ t: 'streamed', r: m.r, result, stats: this.#store.stats() }),
        (error: unknown) =>
          // A store failure (the file store's disk) answers as the endpoint's own errors do: unavailable.
          channel.send({
            t: 'streamed',
            r: m.r,
            result: { kind: 'limit', message: `the stream store failed: ${(error as Error).message}` },
            stats: this.#store.stats(),
          }),
      )
      return true
    }
    if (m.t === 'watch') {
      let mine = this.#watches.get(worker)
      if (mine === undefined) this.#watches.set(worker, (mine = new Map()))
      mine.set(
        m.w,
        this.#store.watch(m.name, (change) => channel.send({ t: 'changed', w: m.w, change })),
      )
      return true
    }
    if (m.t === 'unwatch') {
      const mine = this.#watches.get(worker)
      mine?.get(m.w)?.()
      mine?.delete(m.w)
      return true
    }
    return false
  }

  /** The worker exited: its watches end. */
  dropWorker(worker: number): void {
    for (const off of this.#watches.get(worker)?.values() ?? []) off()
    this.#watches.delete(worker)
  }

  close(): Promise<void> {
    for (const worker of [...this.#watches.keys()]) this.dropWorker(worker)
    return this.#store.close()
  }

  #run(call: StreamCall): Promise<unknown> {
    const store = this.#store
    switch (call.op) {
      case 'create': {
        const { request } = call
        const fork = request.fork
        if (fork === undefined || !call.split) return store.create(call.name, request)
        const split = splitter(payloadKind(request.config.contentType))
        return store.create(call.name, { ...request, fork: { ...fork, split } })
      }
      case 'append':
        return store.append(call.name, call.request)
      case 'read':
        return store.read(call.name, call.after, call.limit, call.touch)
      case 'readLast':
        return store.readLast(call.name, call.count)
      case 'info':
        return store.info(call.name, call.touch)
      case 'delete':
        return store.delete(call.name)
    }
  }
}
