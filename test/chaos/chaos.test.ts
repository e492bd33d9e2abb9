/**
 * Short chaos run (in `npm test`): 100 clients through a fault-injecting proxy for ~15 s at 100
 * events/s against a real hub process. See scenario.ts for what is asserted. The long form is
 * `npm run chaos:long`. A failing run prints its seed: rerun it with CHAOS_SEED=<seed>.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runChaos } from './scenario.ts'

test('every client gets its topics in order without loss or duplicate, and dead streams are reaped, through stalls, throttling, cuts, resets and blackholes', async (t) => {
  const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31))
  const result = await runChaos({
    clients: 100,
    durationMs: 15_000,
    rate: 100,
    seed,
    log: (s) => t.diagnostic(s),
  })
  t.diagnostic(
    `seed ${seed}: ${result.published} events, faults ${JSON.stringify(result.faults)}, ${result.reconnects} reconnects, ` +
      `${result.resets} resets, reap max ${Math.max(0, ...result.reapDelaysMs)} ms, RSS ${result.rssBaselineMB} -> ${result.rssAfterMB} MB, heap after GC ${result.heapBaselineMB} -> ${result.heapAfterMB} MB`,
  )
  assert.deepEqual(result.failures, [], `seed ${seed}`)
  const injected = Object.values(result.faults).reduce((a, b) => a + b, 0)
  assert.ok(injected >= 10, `only ${injected} faults were injected (seed ${seed}): the run proved little`)
})
