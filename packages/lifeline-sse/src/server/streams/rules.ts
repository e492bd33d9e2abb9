/**
 * The decisions every stream store makes alike, as pure functions over a stream's state: whether an
 * append may go ahead (PROTOCOL.md §5.2 and §5.2.1, in the protocol's order of precedence) and whether
 * a repeated create matches. The memory, file and Redis stores call these, so the rules cannot drift.
 */
import { checkProducer, type ProducerState, type ProducerTuple, sameProducer } from './producers.ts'
import type { AppendRequest, CreateRequest, EntryCut, StreamConfig } from './stream-store.ts'

/** The part of a stream an append is checked against. */
export interface AppendState {
  readonly closed: boolean
  readonly closedBy: ProducerTuple | undefined
  readonly config: StreamConfig
  readonly producers: ReadonlyMap<string, ProducerState>
  readonly streamSeq: string | undefined
  /** Recent requests' keys -> the ids they stored (see `requestKey`). */
  readonly keys: ReadonlyMap<string, readonly string[]>
}

/** Keys remembered per stream (the most recent ones): a retry within this many requests answers its ids. */
export const MAX_REMEMBERED_KEYS = 256

/** What a request is remembered by: its idempotency key, else its producer tuple. */
export function requestKey(request: AppendRequest): string | undefined {
  if (request.key !== undefined) return `k:${request.key}`
  const p = request.producer
  return p === undefined ? undefined : `p:${p.id}:${p.epoch}:${p.seq}`
}

/** The keys after a stored request: its key -> ids added, the oldest dropped past the bound. */
export function rememberKey(
  keys: Map<string, readonly string[]>,
  request: AppendRequest,
  ids: readonly string[],
): void {
  const key = requestKey(request)
  if (key === undefined) return
  keys.set(key, ids)
  for (const old of keys.keys()) {
    if (keys.size <= MAX_REMEMBERED_KEYS) break
    keys.delete(old)
  }
}

export type AppendDecision =
  /** Store it; then record `producer` (when given) as the producer's new state. */
  | { readonly kind: 'proceed'; readonly producer: ProducerState | undefined }
  /** Already stored (a retry): answer success, store nothing. -1: a repeated close-only request. */
  | { readonly kind: 'duplicate'; readonly producerSeq: number; readonly ids?: readonly string[] | undefined }
  | { readonly kind: 'closed' }
  | { readonly kind: 'content_type'; readonly expected: string }
  | { readonly kind: 'stream_seq'; readonly last: string }
  | { readonly kind: 'stale_epoch'; readonly epoch: number }
  | { readonly kind: 'epoch_seq' }
  | { readonly kind: 'gap'; readonly expected: number; readonly received: number }

export function decideAppend(state: AppendState, request: AppendRequest, now: number): AppendDecision {
  const decision = decideAppendRules(state, request, now)
  if (decision.kind !== 'duplicate') return decision
  const key = requestKey(request)
  return { ...decision, ids: key === undefined ? undefined : state.keys.get(key) }
}

function decideAppendRules(state: AppendState, request: AppendRequest, now: number): AppendDecision {
  // An idempotency key seen before: the request was stored (whatever the stream's state is now).
  if (request.key !== undefined && state.keys.has(`k:${request.key}`))
    return { kind: 'duplicate', producerSeq: -1 }
  const producer = request.producer
  // [spec] §5.2 error precedence: "1. Stream closed ... 2. Content type mismatch ... 3. Sequence regression"
  if (state.closed) {
    // [spec] §5.2.1 "If the (producerId, epoch, seq) matches the request that closed the stream, return 204"
    if (sameProducer(state.closedBy, producer))
      return { kind: 'duplicate', producerSeq: (producer as ProducerTuple).seq }
    // [spec] §5.2 "Close-only requests are idempotent"
    if (request.close === true && request.data.length === 0 && producer === undefined) {
      return { kind: 'duplicate', producerSeq: -1 }
    }
    return { kind: 'closed' }
  }
  if (request.data.length > 0 && request.contentType !== undefined) {
    if (request.contentType !== state.config.contentType) {
      return { kind: 'content_type', expected: state.config.contentType }
    }
  }
  let next: ProducerState | undefined
  if (producer !== undefined) {
    const check = checkProducer(state.producers.get(producer.id), producer, now)
    if (check.kind === 'duplicate') return { kind: 'duplicate', producerSeq: check.lastSeq }
    if (check.kind !== 'accept') return check
    next = check.next
  }
  // Checked after the producer: a retry carrying both is a duplicate, not a Stream-Seq regression.
  if (
    request.streamSeq !== undefined &&
    state.streamSeq !== undefined &&
    request.streamSeq <= state.streamSeq
  ) {
    return { kind: 'stream_seq', last: state.streamSeq }
  }
  return { kind: 'proceed', producer: next }
}

/** The part of a stream a repeated create is compared with. */
export interface CreateState {
  readonly config: StreamConfig
  readonly closed: boolean
  readonly forkedFrom: string | undefined
  readonly forkRequest:
    | { readonly offset: string | undefined; readonly subOffset: number | undefined }
    | undefined
}

/** [spec] §5.1: a PUT on an existing stream succeeds only when its configuration matches. */
export function sameCreate(existing: CreateState, config: StreamConfig, request: CreateRequest): boolean {
  return (
    existing.config.contentType === config.contentType &&
    existing.config.ttlSeconds === config.ttlSeconds &&
    existing.config.expiresAt === config.expiresAt &&
    existing.closed === (request.closed === true) &&
    existing.forkedFrom === request.fork?.from &&
    (request.fork === undefined ||
      (existing.forkRequest?.offset === request.fork.offset &&
        existing.forkRequest?.subOffset === (request.fork.subOffset || undefined)))
  )
}

/**
 * [spec] §4.2 the fork's config: the source's content type when none is given (409 when another is),
 * and the source's TTL or Expires-At when the fork sets no expiry of its own.
 */
export function forkConfig(
  config: StreamConfig,
  source: StreamConfig,
  contentTypeGiven: boolean,
): StreamConfig | { readonly conflict: string } {
  let out = config
  if (!contentTypeGiven) out = { ...out, contentType: source.contentType }
  else if (config.contentType !== source.contentType) {
    return { conflict: `the source stream's type is ${source.contentType}` }
  }
  if (out.ttlSeconds === undefined && out.expiresAt === undefined) {
    out = { ...out, ttlSeconds: source.ttlSeconds, expiresAt: source.expiresAt }
  }
  return out
}

/** undefined when the TTL or expiry fits under the cap (seconds; 0 = none), else why not. */
export function ttlOverCap(config: StreamConfig, capSeconds: number, now: number): string | undefined {
  if (capSeconds <= 0) return undefined
  if (config.ttlSeconds !== undefined && config.ttlSeconds > capSeconds) {
    return `TTL ${config.ttlSeconds} s is over the hub's cap of ${capSeconds} s`
  }
  if (config.expiresAt !== undefined && config.expiresAt - now > capSeconds * 1000) {
    return `the expiry is further than the hub's cap of ${capSeconds} s`
  }
  return undefined
}

export type CreateDecision =
  | { readonly kind: 'proceed'; readonly config: StreamConfig; readonly forkOffset: string | undefined }
  | { readonly kind: 'exists' }
  | { readonly kind: 'conflict'; readonly message: string }
  | { readonly kind: 'source_not_found' }
  | { readonly kind: 'bad_fork'; readonly message: string }

/**
 * [spec] §5.1 and §4.2: what a PUT does, given the stream already there (if any) and the fork source
 * (if one is named; undefined when it does not exist). `isOurs` tells an offset of this store.
 */
export function decideCreate(
  request: CreateRequest,
  existing: (CreateState & { readonly softDeleted: boolean }) | undefined,
  source: { readonly config: StreamConfig; readonly softDeleted: boolean; readonly tail: string } | undefined,
  isOurs: (offset: string) => boolean,
): CreateDecision {
  let config = request.config
  let forkOffset: string | undefined
  if (request.fork !== undefined) {
    if (source === undefined) return { kind: 'source_not_found' }
    if (source.softDeleted) return { kind: 'conflict', message: 'the source stream was deleted' }
    const forked = forkConfig(config, source.config, request.contentTypeGiven === true)
    if ('conflict' in forked) return { kind: 'conflict', message: forked.conflict }
    config = forked
    forkOffset = request.fork.offset ?? source.tail
    if (!isOurs(forkOffset) || forkOffset > source.tail) {
      return { kind: 'bad_fork', message: `fork offset ${forkOffset.slice(0, 64)} is past the source's tail` }
    }
  }
  if (existing !== undefined) {
    if (existing.softDeleted)
      return { kind: 'conflict', message: 'a deleted stream with forks holds this name' }
    if (!sameCreate(existing, config, request)) {
      return { kind: 'conflict', message: 'a stream with another configuration exists here' }
    }
    return { kind: 'exists' }
  }
  return { kind: 'proceed', config, forkOffset }
}

/**
 * [spec] §4.2 `Stream-Fork-Sub-Offset`: walks the source's entries after the fork offset. Whole entries
 * move the fork offset on; a part of one becomes `head`, the fork's own first entry. undefined when
 * the sub-offset reaches past what `split` allows.
 */
export function walkSubOffset(
  entries: readonly { readonly offset: string; readonly data: string }[],
  offset: string,
  subOffset: number,
  split: ((data: string, count: number) => EntryCut | undefined) | undefined,
): { offset: string; head: string | undefined } | undefined {
  let remaining = subOffset
  let at = offset
  for (const e of entries) {
    const cut = split?.(e.data, remaining)
    if (cut === undefined) break
    if (!cut.whole) return { offset: at, head: cut.data }
    at = e.offset
    remaining -= cut.taken
    if (remaining === 0) break
  }
  return remaining > 0 ? undefined : { offset: at, head: undefined }
}
