/**
 * Soak: a Lifeline hub under moderate, steady load for a long time (30 min by default; not in CI).
 * Streams are recycled all along by the hub's --max-lifetime (so open/close/resume paths run
 * thousands of times), events are published at a steady rate, and the hub's RSS and open fds are
 * sampled every SAMPLE_MS. Passes when memory is flat (the last fifth of the run's average RSS is
 * within RSS_GROWTH_LIMIT of the second fifth's) and the fds return to their level before the load.
 *
 * Run:  npx node bench/soak.ts [--minutes 30] [--connections 1000] [--rate 50] [--write]
 *       (--write stores the result in docs/benchmarks/soak.json)
 */
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { sleep } from '../packages/lifeline-hub/src/loadtool/fleet.ts'
import { describeMachine, machine } from '../packages/lifeline-hub/src/loadtool/machine.ts'
import { ProcWatcher } from '../packages/lifeline-hub/src/loadtool/proc.ts'
import { runBench } from '../packages/lifeline-hub/src/loadtool/run.ts'
import { startPeer } from './peers/start.ts'

const SAMPLE_MS = 10_000
/** Allowed growth of the average RSS between the second and the last fifth of the run. */
const RSS_GROWTH_LIMIT = 0.1

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    connections: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '50' },
    write: { type: 'boolean', default: false },
  },
})
const minutes = Number(values.minutes)
const connections = Number(values.connections)
const rate = Number(values.rate)
const command = `npx node bench/soak.ts --minutes ${minutes} --connections ${connections} --rate ${rate}`
console.error(`soak: ${describeMachine()}\n${command}`)

const hub = await startPeer('lifeline', { extraArgs: ['--max-lifetime', '60s', '--retry', '1s'] })
await sleep(1000)
const watcher = new ProcWatcher(hub.pid, SAMPLE_MS)
const before = watcher.now()
let report: Awaited<ReturnType<typeof runBench>>
try {
  report = await runBench(
    {
      url: `${hub.url}/events`,
      connections,
      topics: 10,
      rate,
      durationMs: minutes * 60_000,
      drainMs: 10_000,
      serverPid: hub.pid,
    },
    (p) => {
      if (Math.floor(p.elapsedMs / 60_000) !== Math.floor((p.elapsedMs - 200) / 60_000)) {
        const s = watcher.samples[watcher.samples.length - 1]
        console.error(
          `${Math.round(p.elapsedMs / 60_000)} min: open ${p.counters.open}, events ${p.counters.events}, reconnects ` +
            `${p.counters.reconnects}, hub RSS ${s ? Math.round(s.rssBytes / 1048576) : '?'} MB, fds ${s?.fds ?? '?'}`,
        )
      }
    },
  )
} finally {
  await sleep(3000)
  watcher.now()
  await hub.stop()
}
const samples = watcher.samples
const fifth = Math.max(1, Math.floor(samples.length / 5))
const avg = (xs: typeof samples) => xs.reduce((sum, s) => sum + s.rssBytes, 0) / Math.max(1, xs.length)
const early = avg(samples.slice(fifth, 2 * fifth))
const late = avg(samples.slice(-fifth))
const growth = early > 0 ? (late - early) / early : 0
const last = samples[samples.length - 1]
const fdsBack = before !== undefined && last !== undefined && last.fds <= before.fds + 2
const result = {
  machine: machine(),
  command,
  date: new Date().toISOString(),
  minutes,
  connections,
  rate,
  rssEarlyMB: Math.round(early / 104857.6) / 10,
  rssLateMB: Math.round(late / 104857.6) / 10,
  rssGrowth: Math.round(growth * 1000) / 1000,
  fdsBefore: before?.fds,
  fdsAfter: last?.fds,
  delivery: report.delivery,
  streams: report.streams,
  memoryFlat: growth <= RSS_GROWTH_LIMIT,
  fdsBack,
  series: samples.map((s) => ({
    t: Math.round((s.at - (samples[0]?.at ?? 0)) / 1000),
    rssMB: Math.round(s.rssBytes / 104857.6) / 10,
    fds: s.fds,
  })),
}
console.log(JSON.stringify({ ...result, series: `${result.series.length} samples` }, null, 2))
if (values.write) {
  const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'benchmarks', 'soak.json')
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`)
  console.error(`wrote ${out}`)
}
process.exitCode = result.memoryFlat && result.fdsBack ? 0 : 1
