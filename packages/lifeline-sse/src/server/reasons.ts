/**
 * The closed sets of reasons (docs/design.md §3): every closed stream records exactly one close reason,
 * every refused stream one reject reason. One list, read by the hub's counters, the metrics and the
 * dashboard, so a new reason cannot be counted in one place and missed in another.
 */
export const CLOSE_REASONS = [
  'client_closed',
  'idle_timeout',
  'write_timeout',
  'buffer_overflow',
  'max_lifetime',
  'token_expired',
  'shutdown',
  'error',
  /** A finite stream closed: the subscriber got its `lifeline:end` event (docs/streams.md). */
  'ended',
] as const

export const REJECT_REASONS = ['max_connections', 'max_connections_per_ip', 'draining'] as const

export type CloseReason = (typeof CLOSE_REASONS)[number]
export type RejectReason = (typeof REJECT_REASONS)[number]
