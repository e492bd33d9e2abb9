import type { HistoryErrorHandler, HistoryListener, ResetReason, StoredEvent } from './history.ts'

/**
 * The default `onError` of every store: a process warning (Node prints it on stderr with its cause),
 * so a listener's bug is seen without taking down a process that serves every other stream.
 */
export const warnHistoryError: HistoryErrorHandler = (error) => {
  process.emitWarning(error.message, { type: 'LifelineHistoryWarning', detail: String(error.cause ?? '') })
}

/**
 * The live listeners of a store, and the one rule for calling them (every store uses this class):
 * in order of registration, each inside its own try. The event is stored whatever a listener does, so
 * a throwing listener must not turn `append` into a failure (the publisher would retry a stored event)
 * nor keep the event from the listeners after it: its error goes to `onError`, wrapped with the event's
 * id (or the reset reason) and the thrown value as `cause`.
 */
export class HistoryListeners {
  #list: readonly HistoryListener[] = []
  readonly #onError: HistoryErrorHandler

  constructor(onError: HistoryErrorHandler = warnHistoryError) {
    this.#onError = onError
  }

  add(listener: HistoryListener): () => void {
    // Copy on write: a listener that unsubscribes during a notify does not disturb the loop.
    this.#list = [...this.#list, listener]
    return () => {
      this.#list = this.#list.filter((l) => l !== listener)
    }
  }

  notify(event: StoredEvent): void {
    for (const l of this.#list) {
      try {
        l.onEvent(event)
      } catch (error) {
        this.#onError(new Error(`a history listener threw on event ${event.id}`, { cause: error }))
      }
    }
  }

  reset(reason: ResetReason): void {
    for (const l of this.#list) {
      try {
        l.onReset?.(reason)
      } catch (error) {
        this.#onError(new Error(`a history listener threw on reset ${reason}`, { cause: error }))
      }
    }
  }

  clear(): void {
    this.#list = []
  }
}
