/**
 * `--max-connections` and `--max-connections-per-ip` across workers: the primary counts every open
 * stream of every worker as a lease, and admits with the same rule (and the same 503/429 answers) as
 * one process does (server/admission.ts). A worker takes a lease before it opens a stream and returns
 * it when the stream closes; a worker that dies returns all of its leases at once.
 */

import type { Rejection } from 'lifeline-sse/server'
import { type AdmissionCounts, admit, resolveOptions } from 'lifeline-sse/server'

export interface LeaseLimits {
  maxConnections: number
  maxConnectionsPerIp: number
  /** For `Retry-After`, as one process computes it. */
  retryMs: number
}

export class StreamLeases implements AdmissionCounts {
  readonly #options: ReturnType<typeof resolveOptions>
  readonly #perIp = new Map<string, number>()
  /** Leases per worker and address, to return a dead worker's leases. */
  readonly #byWorker = new Map<number, Map<string, number>>()
  #size = 0

  constructor(limits: LeaseLimits) {
    this.#options = resolveOptions(limits)
  }

  /** True when a limit is set (otherwise workers need not ask). */
  get limited(): boolean {
    return this.#options.maxConnections > 0 || this.#options.maxConnectionsPerIp > 0
  }

  get size(): number {
    return this.#size
  }

  countFor(address: string): number {
    return this.#perIp.get(address) ?? 0
  }

  /** A lease for one stream of `worker` from `address`, or the refusal to answer. */
  acquire(worker: number, address: string): Rejection | undefined {
    const rejection = admit(this.#options, this, false, address)
    if (rejection !== undefined) return rejection
    this.#size++
    bump(this.#perIp, address, 1)
    let mine = this.#byWorker.get(worker)
    if (mine === undefined) this.#byWorker.set(worker, (mine = new Map()))
    bump(mine, address, 1)
    return undefined
  }

  release(worker: number, address: string): void {
    const mine = this.#byWorker.get(worker)
    if (mine === undefined || !mine.has(address)) return
    bump(mine, address, -1)
    bump(this.#perIp, address, -1)
    this.#size--
  }

  /** Returns every lease `worker` held (it exited: its streams are gone). */
  dropWorker(worker: number): void {
    const mine = this.#byWorker.get(worker)
    if (mine === undefined) return
    for (const [address, n] of mine) {
      bump(this.#perIp, address, -n)
      this.#size -= n
    }
    this.#byWorker.delete(worker)
  }
}

function bump(map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by
  if (n <= 0) map.delete(key)
  else map.set(key, n)
}
