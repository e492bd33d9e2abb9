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
