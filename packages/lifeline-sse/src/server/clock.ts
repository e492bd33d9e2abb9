/**
 * One clock for every connection (docs/design.md §3): a single timer sweeps all registered targets, never a
 * timer per connection, so 100k streams cost one interval and a loop. Targets live in an array with
 * swap-remove (O(1) add/remove, no Set rehashing), and a sweep over many targets runs in slices with
 * `setImmediate` between them so one sweep never holds the event loop for long.
 */
export interface ClockTarget {
  /** Index in the clock's array; owned by the clock (-1 when not registered). */
  clockSlot: number
  /** Runs once per sweep with the sweep's time (ms, the hub's monotonic clock). */
  tick(now: number): void
}

/** Targets handled before yielding to I/O: bounds one synchronous run of the sweep. */
const SLICE = 8_192

export class SweepClock {
  readonly intervalMs: number
  #targets: ClockTarget[] = []
  #now: () => number
  #timer: ReturnType<typeof setInterval> | undefined
  /** A sliced sweep is still running: the next interval is skipped rather than stacked. */
  #sweeping = false

  constructor(intervalMs: number, now: () => number) {
    this.intervalMs = intervalMs
    this.#now = now
  }

  get size(): number {
    return this.#targets.length
  }

  add(target: ClockTarget): void {
    if (target.clockSlot !== -1) return
    target.clockSlot = this.#targets.length
    this.#targets.push(target)
    if (this.#timer === undefined) this.#start()
  }

  delete(target: ClockTarget): void {
    const slot = target.clockSlot
    if (slot === -1) return
    const last = this.#targets.pop() as ClockTarget
    if (last !== target) {
      this.#targets[slot] = last
      last.clockSlot = slot
    }
    target.clockSlot = -1
  }

  /** Stops the timer (it restarts on the next add). */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** One full sweep now, synchronously (tests and benchmarks). */
  sweepNow(): void {
    const now = this.#now()
    const targets = this.#targets
    // Backwards: a target removed during its own tick swaps in one already visited, so none is skipped.
    for (let i = targets.length - 1; i >= 0; i--) targets[i]?.tick(now)
  }

  #start(): void {
    this.#timer = setInterval(() => this.#sweep(), this.intervalMs)
    // The clock never keeps a process alive on its own: servers and sockets do.
    this.#timer.unref()
  }

  #sweep(): void {
    if (this.#sweeping) return
    if (this.#targets.length === 0) {
      this.stop()
      return
    }
    this.#sweeping = true
    this.#slice(this.#targets.length - 1)
  }

  #slice(from: number): void {
    const now = this.#now()
    const targets = this.#targets
    let i = Math.min(from, targets.length - 1)
    const stopAt = Math.max(0, i - SLICE + 1)
    for (; i >= stopAt; i--) targets[i]?.tick(now)
    if (i >= 0) {
      setImmediate(() => this.#slice(i))
    } else {
      this.#sweeping = false
    }
  }
}
