/**
 * Idempotent producers (Durable Streams PROTOCOL.md §5.2.1, the Kafka model): a producer sends
 * `(id, epoch, seq)` with every request; the store keeps, per stream and producer, the epoch and the
 * highest seq it accepted, and a retried request is answered as a duplicate instead of stored twice.
 * One pure function, shared by every store, so the rule cannot drift between backends.
 */

export interface ProducerTuple {
  readonly id: string
  readonly epoch: number
  readonly seq: number
}

export interface ProducerState {
  readonly epoch: number
  readonly lastSeq: number
  /** Wall-clock ms of the last accepted request (idle producer states are dropped after a while). */
  readonly updatedAt: number
}

export type ProducerCheck =
  /** Store the request, then record `next` for the producer. */
  | { readonly kind: 'accept'; readonly next: ProducerState }
  /** Already stored: answer success without storing. */
  | { readonly kind: 'duplicate'; readonly lastSeq: number }
  /** A zombie of an older epoch (403 with the current epoch). */
  | { readonly kind: 'stale_epoch'; readonly epoch: number }
  /** A new epoch must start at seq 0 (400). */
  | { readonly kind: 'epoch_seq' }
  /** A request is missing in between (409 with the expected and received seq). */
  | { readonly kind: 'gap'; readonly expected: number; readonly received: number }

/** Idle producer states are forgotten after this long (PROTOCOL.md §5.2.1 recommends 7 days). */
export const PRODUCER_STATE_TTL_MS = 7 * 24 * 3_600_000

export function checkProducer(
  state: ProducerState | undefined,
  p: ProducerTuple,
  now: number,
): ProducerCheck {
  if (state === undefined || now - state.updatedAt > PRODUCER_STATE_TTL_MS) {
    // [spec] a producer the server does not know starts at seq 0.
    if (p.seq !== 0) return { kind: 'gap', expected: 0, received: p.seq }
    return { kind: 'accept', next: { epoch: p.epoch, lastSeq: 0, updatedAt: now } }
  }
  // [spec] "if epoch < state.epoch → 403 Forbidden"
  if (p.epoch < state.epoch) return { kind: 'stale_epoch', epoch: state.epoch }
  if (p.epoch > state.epoch) {
    // [spec] "if seq != 0 → 400 Bad Request (new epoch must start at seq=0)"
    if (p.seq !== 0) return { kind: 'epoch_seq' }
    return { kind: 'accept', next: { epoch: p.epoch, lastSeq: 0, updatedAt: now } }
  }
  // [spec] "if seq <= state.lastSeq → 204 No Content (duplicate, idempotent success)"
  if (p.seq <= state.lastSeq) return { kind: 'duplicate', lastSeq: state.lastSeq }
  if (p.seq === state.lastSeq + 1) {
    return { kind: 'accept', next: { epoch: p.epoch, lastSeq: p.seq, updatedAt: now } }
  }
  return { kind: 'gap', expected: state.lastSeq + 1, received: p.seq }
}

export function sameProducer(a: ProducerTuple | undefined, b: ProducerTuple | undefined): boolean {
  return a !== undefined && b !== undefined && a.id === b.id && a.epoch === b.epoch && a.seq === b.seq
}
