import type { ResolvedOptions } from './hub-options.ts'
import type { Rejection } from './types.ts'

/** Open streams now, in total and per client address: the registry, or the primary's leases (--workers). */
export interface AdmissionCounts {
  readonly size: number
  countFor(address: string): number
}

/** Seconds a refused client is told to wait (`Retry-After`): about two `retry:` intervals, at least 1. */
function retryAfter(options: ResolvedOptions): number {
  return Math.max(1, Math.ceil((2 * options.retryMs) / 1000))
}

/** docs/design.md §3: draining and `maxConnections` answer 503, `maxConnectionsPerIp` 429, each with Retry-After. */
export function admit(
  options: ResolvedOptions,
  registry: AdmissionCounts,
  draining: boolean,
  remoteAddress: string,
): Rejection | undefined {
  if (draining) {
    return {
      status: 503,
      reason: 'draining',
      retryAfterSeconds: retryAfter(options),
      error: 'draining',
      message: 'this hub is shutting down: reconnect to another node or retry shortly',
    }
  }
  if (options.maxConnections > 0 && registry.size >= options.maxConnections) {
    return {
      status: 503,
      reason: 'max_connections',
      retryAfterSeconds: retryAfter(options),
      error: 'max_connections',
      message: `this hub holds its limit of ${options.maxConnections} streams: retry later`,
    }
  }
  if (options.maxConnectionsPerIp > 0 && registry.countFor(remoteAddress) >= options.maxConnectionsPerIp) {
    return {
      status: 429,
      reason: 'max_connections_per_ip',
      retryAfterSeconds: retryAfter(options),
      error: 'max_connections_per_ip',
      message: `this address holds its limit of ${options.maxConnectionsPerIp} streams: close one or retry later`,
    }
  }
  return undefined
}
