import type { LifelineError } from '../protocol/errors.ts'
import { kAnyEvent, LifelineEventSource } from './event-source.ts'
import type { LifelineEventSourceInit } from './event-source-options.ts'
import type { ClientErrorEvent } from './events.ts'

/** One event read by `subscribe`: what a MessageEvent carries, as a plain object. */
export interface StreamEvent {
  type: string
  data: string
  lastEventId: string
  origin: string
}

/**
 * Read a stream with `for await` (Node code, scripts, tests): yields every event of any type, across
 * reconnects. The loop ends when the source is closed through `signal` or by leaving the loop
 * (`break` closes it); it throws the reason (a LifelineError) when the connection fails for good
 * (204, wrong status or content type, `retry.maxAttempts` exhausted). Events wait in memory until the
 * loop takes them.
 */
export function subscribe(
  url: string | URL,
  options: LifelineEventSourceInit = {},
): AsyncIterable<StreamEvent> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<StreamEvent> {
      const source = new LifelineEventSource(url, options)
      const queue: StreamEvent[] = []
      let failure: LifelineError | undefined
      let wakeUp: (() => void) | undefined
      const notify = () => {
        wakeUp?.()
        wakeUp = undefined
      }
      source[kAnyEvent] = (event) => {
        queue.push({
          type: event.type,
          data: event.data,
          lastEventId: event.lastEventId,
          origin: event.origin,
        })
        notify()
      }
      source.addEventListener('error', (event) => {
        const error = event as ClientErrorEvent
        if (!error.willRetry) failure = error.error
      })
      source.addEventListener('statechange', notify)
      return {
        async next(): Promise<IteratorResult<StreamEvent>> {
          for (;;) {
            const event = queue.shift()
            if (event !== undefined) return { value: event, done: false }
            if (failure !== undefined) {
              const error = failure
              failure = undefined
              source.close()
              throw error
            }
            if (source.readyState === source.CLOSED) return { value: undefined, done: true }
            await new Promise<void>((resolve) => {
              wakeUp = resolve
            })
          }
        },
        async return(): Promise<IteratorResult<StreamEvent>> {
          source.close()
          queue.length = 0
          return { value: undefined, done: true }
        },
      }
    },
  }
}
