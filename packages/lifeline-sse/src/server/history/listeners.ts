import type { HistoryListener, StoredEvent } from './history.ts'

/**
 * Calls every listener with a stored event. The event is stored whatever a listener does, so a
 * throwing listener must not turn `append` into a failure (the publisher would retry a stored event):
 * its error is rethrown outside this call, and the other listeners still run.
 */
export function notify(listeners: readonly HistoryListener[], event: StoredEvent): void {
  for (const l of listeners) {
    try {
      l.onEvent(event)
    } catch (error) {
      queueMicrotask(() => {
        throw error
      })
    }
  }
}

/** The live listeners of a store: registered, called in order by `notify`, cleared on close. */
export class HistoryListeners {
  #list: readonly HistoryListener[] = []

  add(listener: HistoryListener): () => void {
    // Copy on write: a listener that unsubscribes during a notify does not disturb the loop.
    this.#list = [...this.#list, listener]
    return () => {
      this.#list = this.#list.filter((l) => l !== listener)
    }
  }

  notify(event: StoredEvent): void {
    notify(this.#list, event)
  }

  clear(): void {
    this.#list = []
  }
}
