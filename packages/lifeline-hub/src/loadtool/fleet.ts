/**
 * The parent side of the load: forks worker processes, splits the streams between them (each worker
 * holds at most `perWorker` sockets, under the per-process fd limit) and its own 127.0.0.x source
 * addresses (one address gives at most ~28k ephemeral ports towards one server address), and sums
 * their counters. `bench/storm.bench.ts` and the CLI's `runBench` both drive a Fleet.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Histogram } from './histogram.ts'
import { emptyCounters, type PoolConfig, type PoolCounters } from './pool.ts'

/** Same extension as this file: `fleet-worker.ts` from source, `fleet-worker.js` in the installed package. */
const WORKER = join(
  dirname(fileURLToPath(import.meta.url)),
  `fleet-worker${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`,
)
/** Streams per worker process by default: well under the 20000 fds a process may hold here. */
export const DEFAULT_PER_WORKER = 15_000
/** Streams per source address by default (ephemeral ports per source/destination pair: ~28k). */
export const PER_ADDRESS = 20_000

export type FleetOptions = Omit<PoolConfig, 'first' | 'count' | 'localAddresses'> & {
  connections: number
  /** Worker processes; default: enough for `perWorker` streams each, and 2 from 2000 streams on. */
  workers?: number
  perWorker?: number
  /** Source addresses 127.0.0.x to spread over; default: as many as `PER_ADDRESS` asks (none below it). */
  sourceAddresses?: number
}

type WorkerState = { child: ChildProcess; counters: PoolCounters; exited: boolean }

export class Fleet {
  readonly workers: WorkerState[] = []
  readonly connections: number

  constructor(options: FleetOptions) {
    const n = options.connections
    const perWorker = options.perWorker ?? DEFAULT_PER_WORKER
    const workers = Math.max(options.workers ?? (n >= 2000 ? 2 : 1), Math.ceil(n / perWorker))
    const isLoopback = options.host.startsWith('127.') || options.host === 'localhost'
    const addressCount =
      options.sourceAddresses ?? (isLoopback && n > PER_ADDRESS ? Math.ceil(n / PER_ADDRESS) : 0)
    this.connections = n
    let first = 0
    for (let w = 0; w < workers; w++) {
      const count = Math.floor(n / workers) + (w < n % workers ? 1 : 0)
      // Worker w uses its own addresses from 127.0.0.2 on (127.0.0.1 stays for the publisher).
      const localAddresses: string[] = []
      for (let a = w; a < addressCount; a += workers) localAddresses.push(`127.0.0.${2 + (a % 250)}`)
      if (addressCount > 0 && localAddresses.length === 0) localAddresses.push(`127.0.0.${2 + (w % 250)}`)
      const child = fork(WORKER, [], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'advanced',
      })
      const state: WorkerState = { child, counters: emptyCounters(), exited: false }
      child.on('message', (m: { type: string; counters?: PoolCounters }) => {
        if (m.type === 'stats' && m.counters) state.counters = m.counters
      })
      child.once('exit', () => {
        state.exited = true
      })
      const { connections: _c, workers: _w, perWorker: _p, sourceAddresses: _s, ...pool } = options
      child.send({ type: 'start', config: { ...pool, first, count, localAddresses } satisfies PoolConfig })
      this.workers.push(state)
      first += count
    }
  }

  /** The sum of the workers' latest counters. */
  counters(): PoolCounters {
    const sum = emptyCounters()
    for (const w of this.workers) {
      for (const key of Object.keys(sum) as (keyof PoolCounters)[]) sum[key] += w.counters[key]
    }
    return sum
  }

  /** Resolves once every stream is open, or false at the deadline. */
  async waitOpen(timeoutMs: number, target = this.connections): Promise<boolean> {
    const deadline = performance.now() + timeoutMs
    while (performance.now() < deadline) {
      if (this.counters().open >= target) return true
      this.#assertAlive()
      await sleep(50)
    }
    return this.counters().open >= target
  }

  /** Tells the workers that publishing starts now (open streams expect seq 1), waits for each ack. */
  async expectFromStart(): Promise<void> {
    await Promise.all(this.workers.map((w) => this.#request(w, { type: 'expect' }, 'ack')))
  }

  /** Final counters (with tail losses against finalSeq) and merged histograms. */
  async finish(
    finalSeq: Record<string, number>,
  ): Promise<{ counters: PoolCounters; latency: Histogram; connectTime: Histogram }> {
    const finals = await Promise.all(
      this.workers.map(
        (w) =>
          this.#request(w, { type: 'finish', finalSeq }, 'final') as Promise<{
            counters: PoolCounters
            latency: ReturnType<Histogram['toJSON']>
            connectTime: ReturnType<Histogram['toJSON']>
          }>,
      ),
    )
    const latency = new Histogram()
    const connectTime = new Histogram()
    for (let i = 0; i < finals.length; i++) {
      const f = finals[i] as (typeof finals)[number]
      ;(this.workers[i] as WorkerState).counters = f.counters
      latency.merge(Histogram.fromJSON(f.latency))
      connectTime.merge(Histogram.fromJSON(f.connectTime))
    }
    return { counters: this.counters(), latency, connectTime }
  }

  /** Closes every stream and waits for the workers to exit (SIGKILL after 5 s). */
  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        if (w.exited) return
        const exited = new Promise<void>((resolve) => w.child.once('exit', () => resolve()))
        if (w.child.connected) w.child.send({ type: 'close' })
        const timer = setTimeout(() => w.child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }),
    )
  }

  #assertAlive(): void {
    const dead = this.workers.find((w) => w.exited)
    if (dead) throw new Error(`bench worker ${dead.child.pid} exited early (code ${dead.child.exitCode})`)
  }

  #request(w: WorkerState, message: unknown, reply: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: { type: string }) => {
        if (m.type !== reply) return
        w.child.off('message', onMessage)
        w.child.off('exit', onExit)
        resolve(m)
      }
      const onExit = () => reject(new Error(`bench worker ${w.child.pid} exited before answering`))
      w.child.on('message', onMessage)
      w.child.once('exit', onExit)
      w.child.send(message as object)
    })
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
