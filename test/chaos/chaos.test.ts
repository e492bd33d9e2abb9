/**
 * Short chaos run (in `npm test`): 100 clients through a fault-injecting proxy for ~15 s at 100
 * events/s against a real hub process (one process, then --workers 2 and 4). See scenario.ts for what is asserted. The long form is
 * `npm run chaos:long`. A failing run prints its seed: rerun it with CHAOS_SEED=<seed>.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runChaos } from './scenario.ts'

/** One process (as `lifeline serve` runs by default), then `--workers 2` and `4`: the proxy's upstream
 *  connections land on every worker and each client resumes wherever its reconnect lands. */
const HUBS: { name: string; hubArgs: string[]; clients: number; durationMs: number; minFaults: number }[] = [
  { name: '', hubArgs: [], clients: 100, durationMs: 15_000, minFaults: 10 },
  { name: '--workers 2: ', hubArgs: ['--workers', '2'], clients: 60, durationMs: 10_000, minFaults: 5 },
  { name: '--workers 4: ', hubArgs: ['--workers', '4'], clients: 60, durationMs: 10_000, minFaults: 5 },
]

for (const hub of HUBS) {
  test(`${hub.name}every client gets its topics in order without loss or duplicate, and dead streams are reaped, through stalls, throttling, cuts, resets and blackholes`, async (t) => {
    const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31))
    const result = await runChaos({
      clients: hub.clients,
      durationMs: hub.durationMs,
      rate: 100,
      seed,
      hubArgs: hub.hubArgs,
      log: (s) => t.diagnostic(s),
    })
    t.diagnostic(
      `seed ${seed}: ${result.published} events, faults ${JSON.stringify(result.faults)}, ${result.reconnects} reconnects, ` +
        `${result.resets} resets, reap max ${Math.max(0, ...result.reapDelaysMs)} ms, RSS ${result.rssBaselineMB} -> ${result.rssAfterMB} MB, heap after GC ${result.heapBaselineMB} -> ${result.heapAfterMB} MB`,
    )
    assert.deepEqual(result.failures, [], `seed ${seed}`)
    const injected = Object.values(result.faults).reduce((a, b) => a + b, 0)
    assert.ok(
      injected >= hub.minFaults,
      `only ${injected} faults were injected (seed ${seed}): the run proved little`,
    )
  })
}
