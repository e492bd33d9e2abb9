/**
 * Long chaos run: `npm run chaos:long` (500 clients, 60 s, 100 events/s; CHAOS_CLIENTS,
 * CHAOS_DURATION_S and CHAOS_SEED override). Not part of `npm test`.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runChaos } from './scenario.ts'

test('long chaos run: every client complete and in order, dead streams reaped, memory back to baseline', async (t) => {
  const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31))
  const clients = Number(process.env.CHAOS_CLIENTS ?? 500)
  const durationMs = Number(process.env.CHAOS_DURATION_S ?? 60) * 1000
  const result = await runChaos({ clients, durationMs, rate: 100, seed, log: (s) => t.diagnostic(s) })
  t.diagnostic(
    JSON.stringify({ ...result, reapDelaysMs: undefined, reapMaxMs: Math.max(0, ...result.reapDelaysMs) }),
  )
  assert.deepEqual(result.failures, [], `seed ${seed}`)
})
