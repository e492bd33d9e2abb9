import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  DEFAULT_RETRY,
  parseRetryAfter,
  reconnectDelay,
  resolveRetry,
} from '../../packages/lifeline-sse/src/client/backoff.ts'

test('defaults are 1000 ms, 30 s, factor 2, unlimited attempts (docs/design.md §7)', () => {
  assert.deepEqual(DEFAULT_RETRY, { initialDelay: 1000, maxDelay: 30_000, factor: 2, maxAttempts: Infinity })
  assert.deepEqual(resolveRetry({ maxDelay: 5 }), { ...DEFAULT_RETRY, maxDelay: 5 })
})

test('the first attempt waits exactly the server retry, else initialDelay, without jitter', () => {
  const retry = resolveRetry({ initialDelay: 500 })
  assert.equal(
    reconnectDelay(1, retry, undefined, () => 0),
    500,
  )
  assert.equal(
    reconnectDelay(1, retry, 3000, () => 0),
    3000,
  )
})

test('later attempts draw from a window growing by factor, capped by maxDelay, floored by retry', () => {
  const retry = resolveRetry({ initialDelay: 100, maxDelay: 1000, factor: 3 })
  const top = () => 0.9999999
  assert.deepEqual(
    [2, 3, 4, 5].map((n) => reconnectDelay(n, retry, undefined, top)),
    [299, 899, 999, 999],
  )
  assert.deepEqual(
    [2, 3, 4].map((n) => reconnectDelay(n, retry, undefined, () => 0)),
    [0, 0, 0],
  )
  assert.deepEqual(
    [2, 3, 4].map((n) => reconnectDelay(n, retry, 5000, () => 0.5)),
    [5000, 5000, 5000],
  )
})

test('Retry-After: seconds or an HTTP-date, anything else ignored', () => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  assert.equal(parseRetryAfter('120', now), 120_000)
  assert.equal(parseRetryAfter(' 3 ', now), 3000)
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now), 10_000)
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now), 0)
  assert.equal(parseRetryAfter('soon', now), undefined)
  assert.equal(parseRetryAfter('-1', now), undefined)
  assert.equal(parseRetryAfter(null, now), undefined)
})
