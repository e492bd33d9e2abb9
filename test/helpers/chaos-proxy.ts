/**
 * A TCP proxy on loopback that hurts the connections going through it, at random from a seed:
 *
 * - `stall`: stop forwarding server -> client for a while (TCP backpressure towards the server), then go on;
 * - `throttle`: forward server -> client at a few KiB/s for a while;
 * - `cut`: end both sides with a FIN;
 * - `reset`: end both sides with an RST;
 * - `blackhole`: stop forwarding both ways without a word. The client only finds out from its own
 *   heartbeat timeout. When it has gone, the server's next bytes are answered with an RST, as the
 *   peer's host would answer a connection it no longer has. (A peer that never answers at all needs
 *   TCP_USER_TIMEOUT on a real network; loopback cannot show that.)
 *
 * One timer drives every connection. Each connection is tagged with the User-Agent of its first
 * request (sniffed from the first bytes), so a test can match the proxy's view with the server's
 * `/api/connections`. `dead` lists every connection whose server side the proxy ended or left to the
 * server to discover, with the time it became dead.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'

export type Fault = 'stall' | 'throttle' | 'cut' | 'reset' | 'blackhole'
export const FAULTS: readonly Fault[] = ['stall', 'throttle', 'cut', 'reset', 'blackhole']

export type ChaosOptions = {
  targetPort: number
  targetHost?: string
  /** PRNG seed: the same seed picks the same faults for the same sequence of ticks. */
  seed: number
  /** Chance per connection per tick that a fault starts on a healthy connection. @default 0.02 */
  faultChance?: number
  /** Tick of the fault timer, in ms. @default 250 */
  tickMs?: number
  /** Relative weights of the faults. @default 1 each */
  weights?: Partial<Record<Fault, number>>
  /** Stall and throttle last between these, in ms. @default [500, 4000] */
  faultDurationMs?: [number, number]
  /** Throttled rate, bytes per second. @default 2048 */
  throttleBytesPerSecond?: number
}

export type DeadConnection = { tag: string; fault: Fault | 'client_gone'; at: number }

type Pair = {
  id: number
  client: Socket
  server: Socket
  tag: string
  fault: Fault | undefined
  until: number
  /** Throttle: bytes still allowed in this tick. */
  budget: number
  /** Throttle/stall: server bytes held back. */
  held: Buffer[]
  clientGone: boolean
  done: boolean
}

/** mulberry32: a small, good-enough seeded PRNG (the test prints the seed on failure). */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const UA = /\r\nuser-agent:\s*([^\r\n]*)/i

export class ChaosProxy {
  readonly options: Required<Omit<ChaosOptions, 'weights'>> & { weights: Record<Fault, number> }
  readonly counts: Record<Fault, number> = { stall: 0, throttle: 0, cut: 0, reset: 0, blackhole: 0 }
  readonly dead: DeadConnection[] = []
  port = 0
  #server: Server
  #pairs = new Set<Pair>()
  #random: () => number
  #timer: NodeJS.Timeout | undefined
  #enabled = false
  #nextId = 0

  constructor(options: ChaosOptions) {
    this.options = {
      targetHost: '127.0.0.1',
      faultChance: 0.02,
      tickMs: 250,
      faultDurationMs: [500, 4000],
      throttleBytesPerSecond: 2048,
      ...options,
      weights: { stall: 1, throttle: 1, cut: 1, reset: 1, blackhole: 1, ...options.weights },
    }
    this.#random = prng(options.seed)
    this.#server = createServer((client) => this.#accept(client))
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
    const address = this.#server.address()
    this.port = typeof address === 'object' && address ? address.port : 0
    this.#timer = setInterval(() => this.#tick(), this.options.tickMs)
    return this.port
  }

  /** Start or stop injecting new faults (running ones finish). Off until called with true. */
  setEnabled(enabled: boolean): void {
    this.#enabled = enabled
  }

  /** Connections currently open through the proxy. */
  get size(): number {
    return this.#pairs.size
  }

  async close(): Promise<void> {
    clearInterval(this.#timer)
    for (const p of this.#pairs) {
      p.client.destroy()
      p.server.destroy()
    }
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #accept(client: Socket): void {
    const server = connect({ host: this.options.targetHost, port: this.options.targetPort })
    const pair: Pair = {
      id: this.#nextId++,
      client,
      server,
      tag: '',
      fault: undefined,
      until: 0,
      budget: 0,
      held: [],
      clientGone: false,
      done: false,
    }
    this.#pairs.add(pair)
    client.setNoDelay(true)
    server.setNoDelay(true)
    client.on('data', (chunk: Buffer) => {
      if (pair.tag === '') {
        const match = UA.exec(chunk.toString('latin1'))
        pair.tag = match?.[1] ?? `#${pair.id}`
      }
      if (pair.fault === 'blackhole') return
      server.write(chunk)
    })
    server.on('data', (chunk: Buffer) => this.#fromServer(pair, chunk))
    client.on('error', () => {})
    server.on('error', () => {})
    client.once('close', () => {
      pair.clientGone = true
      if (pair.done) return
      if (pair.fault === 'blackhole') {
        // The client gave up; the server learns it at its next write (answered with an RST).
        this.dead.push({ tag: pair.tag, fault: 'client_gone', at: performance.now() })
        server.resume()
        return
      }
      this.#finish(pair)
      server.end()
    })
    server.once('close', () => {
      this.#finish(pair)
      if (!pair.clientGone) client.end()
    })
  }

  #fromServer(pair: Pair, chunk: Buffer): void {
    switch (pair.fault) {
      case 'blackhole':
        if (pair.clientGone) {
          this.#finish(pair)
          pair.server.resetAndDestroy()
        }
        return
      case 'stall':
        pair.held.push(chunk)
        pair.server.pause()
        return
      case 'throttle':
        pair.held.push(chunk)
        this.#drainThrottled(pair)
        return
      default:
        pair.client.write(chunk)
    }
  }

  #drainThrottled(pair: Pair): void {
    while (pair.held.length > 0 && pair.budget > 0) {
      const head = pair.held[0] as Buffer
      const take = Math.min(head.length, pair.budget)
      pair.client.write(head.subarray(0, take))
      pair.budget -= take
      if (take === head.length) pair.held.shift()
      else pair.held[0] = head.subarray(take)
    }
    if (pair.held.length > 0) pair.server.pause()
  }

  #finish(pair: Pair): void {
    if (pair.done) return
    pair.done = true
    this.#pairs.delete(pair)
  }

  #pick(): Fault {
    const w = this.options.weights
    const total = FAULTS.reduce((sum, f) => sum + w[f], 0)
    let r = this.#random() * total
    for (const f of FAULTS) {
      r -= w[f]
      if (r < 0) return f
    }
    return 'cut'
  }

  #tick(): void {
    const now = performance.now()
    const o = this.options
    const [minMs, maxMs] = o.faultDurationMs
    for (const pair of this.#pairs) {
      if (pair.done) continue
      if (pair.fault === 'stall' || pair.fault === 'throttle') {
        if (now >= pair.until) {
          pair.fault = undefined
          for (const chunk of pair.held) pair.client.write(chunk)
          pair.held = []
          pair.server.resume()
        } else if (pair.fault === 'throttle') {
          pair.budget = Math.ceil((o.throttleBytesPerSecond * o.tickMs) / 1000)
          this.#drainThrottled(pair)
          if (pair.held.length === 0) pair.server.resume()
        }
        continue
      }
      // Draw for every healthy connection even while disabled, so the sequence stays seed-driven.
      const roll = this.#random()
      if (pair.fault !== undefined || !this.#enabled || pair.tag === '' || roll >= o.faultChance) continue
      const fault = this.#pick()
      this.counts[fault]++
      pair.fault = fault
      pair.until = now + minMs + this.#random() * (maxMs - minMs)
      switch (fault) {
        case 'cut':
          this.dead.push({ tag: pair.tag, fault, at: now })
          this.#finish(pair)
          pair.client.end()
          pair.server.end()
          break
        case 'reset':
          this.dead.push({ tag: pair.tag, fault, at: now })
          this.#finish(pair)
          pair.client.resetAndDestroy()
          pair.server.resetAndDestroy()
          break
        case 'stall':
          pair.server.pause()
          break
        case 'throttle':
          pair.budget = 0
          break
        case 'blackhole':
          break
      }
    }
  }
}
