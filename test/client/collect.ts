/** Records what an EventSource-like object dispatches, and awaits conditions on it with a deadline. */
export interface Seen {
  type: string
  data?: string
  lastEventId?: string
  origin?: string
  readyState: number
  state?: string
}

interface SourceLike extends EventTarget {
  readyState: number
  state?: string
}

export class Collector {
  readonly seen: Seen[] = []
  #waiters: Array<() => void> = []

  constructor(source: SourceLike, types: string[] = ['open', 'message', 'error', 'statechange']) {
    for (const type of types) {
      source.addEventListener(type, (event) => {
        const e = event as Event & { data?: string; lastEventId?: string; origin?: string; state?: string }
        const entry: Seen = { type: e.type, readyState: source.readyState }
        if (typeof e.data === 'string') entry.data = e.data
        if (e instanceof MessageEvent) {
          entry.lastEventId = e.lastEventId
          entry.origin = e.origin
        }
        const state = (event as { state?: unknown }).state
        if (typeof state === 'string') entry.state = state
        this.seen.push(entry)
        for (const wake of this.#waiters.splice(0)) wake()
      })
    }
  }

  of(type: string): Seen[] {
    return this.seen.filter((entry) => entry.type === type)
  }

  /** Resolve once `predicate` holds over what was seen; reject after `timeoutMs`. */
  async until(predicate: (seen: Seen[]) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!predicate(this.seen)) {
      const left = deadline - Date.now()
      if (left <= 0) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; saw ${JSON.stringify(this.seen)}`,
        )
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Wait for `count` events of `type`. */
  count(type: string, count: number, timeoutMs?: number): Promise<void> {
    return this.until(
      (seen) => seen.filter((e) => e.type === type).length >= count,
      `${count} x ${type}`,
      timeoutMs,
    )
  }
}
