import type { StreamChange } from './stream-store.ts'

type Listener = (change: StreamChange) => void

/**
 * Who waits on which stream: the one listener registry of every stream store (memory, file, Redis).
 * A listener that throws does not keep the others from hearing the change; its error is rethrown on a
 * microtask, where it surfaces as an uncaught error instead of failing the store's write.
 */
export class StreamWatchers {
  readonly #byName = new Map<string, Set<Listener>>()

  /** True while anyone waits on `name` (a store may skip work for streams nobody reads). */
  has(name: string): boolean {
    return this.#byName.has(name)
  }

  /** Adds a listener; the function returned removes it. */
  watch(name: string, listener: Listener): () => void {
    let set = this.#byName.get(name)
    if (set === undefined) {
      set = new Set()
      this.#byName.set(name, set)
    }
    set.add(listener)
    return () => {
      const current = this.#byName.get(name)
      if (current === undefined) return
      current.delete(listener)
      if (current.size === 0) this.#byName.delete(name)
    }
  }

  notify(name: string, change: StreamChange): void {
    const set = this.#byName.get(name)
    if (set === undefined) return
    for (const listener of [...set]) {
      try {
        listener(change)
      } catch (error) {
        queueMicrotask(() => {
          throw error
        })
      }
    }
  }
}
