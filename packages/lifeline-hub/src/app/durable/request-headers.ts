/** The Durable Streams request headers (PROTOCOL.md §5), parsed and checked: 400 for bad ones. */
import type { ProducerTuple } from 'lifeline-sse/server'
import { HttpError, type Req } from '../../shared/http-error.ts'

/** [spec] §5.2.1 "MUST be a non-negative integer ≤ 2^53-1". */
const SAFE_INT = /^(0|[1-9][0-9]{0,15})$/
/** [spec] §5.1 TTL: "non-negative integer in decimal notation without leading zeros, plus signs, ..." */
const TTL = /^(0|[1-9][0-9]{0,15})$/
/** RFC 3339 date-time. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

export function header(req: Req, name: string): string | undefined {
  const v = req.headers[name]
  if (Array.isArray(v)) return v.join(', ')
  return v
}

/** [spec] §4.1 "present only when its value is exactly `true` (case-insensitive)". */
export function closedFlag(req: Req): boolean {
  return header(req, 'stream-closed')?.trim().toLowerCase() === 'true'
}

export function ttlAndExpiry(req: Req): { ttlSeconds?: number; expiresAt?: number } {
  const ttl = header(req, 'stream-ttl')
  const expires = header(req, 'stream-expires-at')
  if (ttl !== undefined && expires !== undefined) {
    throw new HttpError('bad_request', 'Send Stream-TTL or Stream-Expires-At, not both.')
  }
  if (ttl !== undefined) {
    if (!TTL.test(ttl)) {
      throw new HttpError('bad_request', 'Stream-TTL must be whole seconds, digits only (e.g. 3600).')
    }
    return { ttlSeconds: Number(ttl) }
  }
  if (expires !== undefined) {
    const ms = RFC3339.test(expires.trim()) ? Date.parse(expires.trim()) : Number.NaN
    if (!Number.isFinite(ms)) {
      throw new HttpError('bad_request', 'Stream-Expires-At must be an RFC 3339 time (2026-01-02T03:04:05Z).')
    }
    return { expiresAt: ms }
  }
  return {}
}

function safeInt(req: Req, name: string): number {
  const v = header(req, name)?.trim() ?? ''
  const n = Number(v)
  if (!SAFE_INT.test(v) || !Number.isSafeInteger(n)) {
    throw new HttpError('bad_request', `${name} must be a non-negative integer up to 2^53-1.`)
  }
  return n
}

/** [spec] §5.2.1 "All three producer headers MUST be provided together or none at all." */
export function producerOf(req: Req): ProducerTuple | undefined {
  const id = header(req, 'producer-id')
  const epoch = header(req, 'producer-epoch')
  const seq = header(req, 'producer-seq')
  if (id === undefined && epoch === undefined && seq === undefined) return undefined
  if (id === undefined || epoch === undefined || seq === undefined) {
    throw new HttpError('bad_request', 'Send Producer-Id, Producer-Epoch and Producer-Seq together, or none.')
  }
  if (id.trim() === '') throw new HttpError('bad_request', 'Producer-Id must not be empty.')
  return { id, epoch: safeInt(req, 'producer-epoch'), seq: safeInt(req, 'producer-seq') }
}

export function subOffsetOf(req: Req): number | undefined {
  const v = header(req, 'stream-fork-sub-offset')
  if (v === undefined) return undefined
  if (!SAFE_INT.test(v.trim())) {
    throw new HttpError('bad_request', 'Stream-Fork-Sub-Offset must be a non-negative integer.')
  }
  return Number(v.trim())
}
