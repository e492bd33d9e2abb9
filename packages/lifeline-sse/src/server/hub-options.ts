import { LifelineError } from '../protocol/errors.ts'
import type { HubOptions } from './types.ts'

/** Every knob of docs/design.md §3 with its default; the hub reads only this resolved shape. */
export interface ResolvedOptions {
  readonly heartbeatMs: number
  readonly writeTimeoutMs: number
  readonly maxBufferedBytes: number
  readonly idleTimeoutMs: number
  readonly maxLifetimeMs: number
  readonly retryMs: number
  readonly shutdownTimeoutMs: number
  readonly maxConnections: number
  readonly maxConnectionsPerIp: number
  readonly historySize: number
  readonly historyTtlMs: number
  readonly historyMaxBytes: number
  readonly now: () => number
  readonly random: () => number
}

export const DEFAULTS = {
  heartbeatMs: 15_000,
  writeTimeoutMs: 10_000,
  maxBufferedBytes: 1024 * 1024,
  idleTimeoutMs: 0,
  maxLifetimeMs: 0,
  retryMs: 3_000,
  shutdownTimeoutMs: 10_000,
  maxConnections: 0,
  maxConnectionsPerIp: 0,
  historySize: 10_000,
  historyTtlMs: 3_600_000,
  historyMaxBytes: 64 * 1024 * 1024,
} as const

type NumericKey = keyof typeof DEFAULTS

function pick(options: HubOptions, key: NumericKey): number {
  const value = options[key] ?? DEFAULTS[key]
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new LifelineError(
      'LIFELINE_ERR_OPTION_INVALID',
      `option ${key} is ${String(value)}: use a finite number >= 0 (0 turns it off where that is allowed)`,
    )
  }
  return value
}

export function resolveOptions(options: HubOptions = {}): ResolvedOptions {
  const resolved = {
    heartbeatMs: pick(options, 'heartbeatMs'),
    writeTimeoutMs: pick(options, 'writeTimeoutMs'),
    maxBufferedBytes: pick(options, 'maxBufferedBytes'),
    idleTimeoutMs: pick(options, 'idleTimeoutMs'),
    maxLifetimeMs: pick(options, 'maxLifetimeMs'),
    retryMs: Math.round(pick(options, 'retryMs')),
    shutdownTimeoutMs: pick(options, 'shutdownTimeoutMs'),
    maxConnections: pick(options, 'maxConnections'),
    maxConnectionsPerIp: pick(options, 'maxConnectionsPerIp'),
    historySize: pick(options, 'historySize'),
    historyTtlMs: pick(options, 'historyTtlMs'),
    historyMaxBytes: pick(options, 'historyMaxBytes'),
    now: options.now ?? (() => performance.now()),
    random: options.random ?? Math.random,
  }
  if (resolved.maxBufferedBytes === 0) {
    throw new LifelineError(
      'LIFELINE_ERR_OPTION_INVALID',
      'option maxBufferedBytes is 0: use a positive byte count (memory per client must stay bounded)',
    )
  }
  return resolved
}

/** The clock's sweep period: at most 10% of the shortest enabled interval (docs/design.md §3), 5 ms..1 s. */
export function sweepIntervalMs(o: ResolvedOptions): number {
  const MIN_SWEEP_MS = 5
  const MAX_SWEEP_MS = 1_000
  let shortest = Number.POSITIVE_INFINITY
  for (const ms of [o.heartbeatMs, o.writeTimeoutMs, o.idleTimeoutMs, o.maxLifetimeMs]) {
    if (ms > 0 && ms < shortest) shortest = ms
  }
  return Math.min(MAX_SWEEP_MS, Math.max(MIN_SWEEP_MS, Math.floor(shortest / 10)))
}

/** `base` +- `fraction` (0.2 = +-20%), so a fleet does not reconnect or expire in lockstep. */
export function jitter(base: number, fraction: number, random: () => number): number {
  return Math.round(base * (1 - fraction + 2 * fraction * random()))
}
