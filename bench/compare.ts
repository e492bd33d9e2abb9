/**
 * Lifeline against every peer SSE server (bench/peers) on the same runs, one server at a time:
 *
 * - idle memory per stream: server RSS growth when `--large` streams are open and idle, / streams;
 * - fan-out p99 at `--small` and `--large` streams: publish -> receive latency of events every stream
 *   receives (one topic), at FANOUT_RATE_SMALL / FANOUT_RATE_LARGE events/s for FANOUT_MS;
 * - delivered events/s: THROUGHPUT_STREAMS streams on one topic, THROUGHPUT_RATE events/s published;
 * - storm recovery: `--storm` streams, server restarted, time until all are open again (from the new
 *   server listening), /healthz p99 meanwhile (bench/storm.bench.ts).
 *
 * Run:  npx node bench/compare.ts [--large 10000] [--small 1000] [--storm 10000] [--servers lifeline,node-http,...]
 *       [--write]   (--write replaces docs/benchmarks/peers.md, peers.svg and peers.json with this run)
 * Results are also given as ratios to Lifeline (peer / lifeline). Every run goes to loopback.
 */
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { describeMachine, machine } from '../src/bench/machine.ts'
import { type BenchReport, runBench } from '../src/bench/run.ts'
import { barChartSvg, type Panel } from './charts.ts'
import { PEER_NAMES, type PeerName, startPeer } from './peers/start.ts'
import { runStorm, type StormResult } from './storm.bench.ts'

/**
 * Fan-out rates: low enough that the receiving side (bench workers on the same machine) is never the
 * bottleneck, so the p99 is the time to write one event to every stream and have it read.
 */
const FANOUT_RATE_SMALL = 10
const FANOUT_RATE_LARGE = 1
const FANOUT_MS = 5000
const THROUGHPUT_STREAMS = 100
const THROUGHPUT_RATE = 1000
const THROUGHPUT_MS = 5000

export type ServerResult = {
  server: PeerName
  idleKiBPerStream: number | null
  fanoutSmallP99: number | null
  fanoutLargeP99: number | null
  fanoutLargeLost: number
  deliveredPerSecond: number | null
  stormRecoveredMs: number | null
  stormHealthzP99: number | null
  errors: string[]
  raw: { large?: BenchReport; small?: BenchReport; throughput?: BenchReport; storm?: StormResult }
}

async function measure(
  server: PeerName,
  sizes: { small: number; large: number; storm: number },
  log: (s: string) => void,
): Promise<ServerResult> {
  const r: ServerResult = {
    server,
    idleKiBPerStream: null,
    fanoutSmallP99: null,
    fanoutLargeP99: null,
    fanoutLargeLost: 0,
    deliveredPerSecond: null,
    stormRecoveredMs: null,
    stormHealthzP99: null,
    errors: [],
    raw: {},
  }
  const peer = await startPeer(server)
  try {
    const base = { url: `${peer.url}/events`, serverPid: peer.pid, drainMs: 5000, connectTimeoutMs: 120_000 }
    try {
      const large = await runBench({
        ...base,
        connections: sizes.large,
        rate: FANOUT_RATE_LARGE,
        durationMs: FANOUT_MS,
      })
      r.raw.large = large
      r.idleKiBPerStream =
        large.server?.idleBytesPerStream == null
          ? null
          : Math.round(large.server.idleBytesPerStream / 102.4) / 10
      r.fanoutLargeP99 = large.delivery.latencyMs.count > 0 ? large.delivery.latencyMs.p99 : null
      r.fanoutLargeLost = large.delivery.lost + (large.delivery.expected - large.delivery.received)
      log(
        `${server}: ${sizes.large} streams: idle ${r.idleKiBPerStream} KiB/stream, fan-out p99 ${r.fanoutLargeP99} ms`,
      )
    } catch (err) {
      r.errors.push(`large: ${(err as Error).message}`)
    }
    try {
      const small = await runBench({
        ...base,
        connections: sizes.small,
        rate: FANOUT_RATE_SMALL,
        durationMs: FANOUT_MS,
      })
      r.raw.small = small
      r.fanoutSmallP99 = small.delivery.latencyMs.count > 0 ? small.delivery.latencyMs.p99 : null
      log(`${server}: ${sizes.small} streams: fan-out p99 ${r.fanoutSmallP99} ms`)
    } catch (err) {
      r.errors.push(`small: ${(err as Error).message}`)
    }
    try {
      const tp = await runBench({
        ...base,
        connections: THROUGHPUT_STREAMS,
        rate: THROUGHPUT_RATE,
        durationMs: THROUGHPUT_MS,
      })
      r.raw.throughput = tp
      r.deliveredPerSecond = tp.delivery.perSecond
      log(`${server}: delivered ${r.deliveredPerSecond} events/s`)
    } catch (err) {
      r.errors.push(`throughput: ${(err as Error).message}`)
    }
  } finally {
    await peer.stop()
  }
  if (sizes.storm > 0) {
    try {
      const storm = await runStorm(server, sizes.storm, { log })
      r.raw.storm = storm
      r.stormRecoveredMs = storm.recoveredAfterListenMs
      r.stormHealthzP99 = storm.healthz.count > 0 ? storm.healthz.p99 : null
      log(
        `${server}: storm of ${sizes.storm}: all back ${storm.recoveredAfterListenMs ?? 'never'} ms after listening, ` +
          `/healthz p99 ${r.stormHealthzP99} ms, refused ${storm.refused}`,
      )
    } catch (err) {
      r.errors.push(`storm: ${(err as Error).message}`)
    }
  }
  return r
}

function ratio(value: number | null, ours: number | null): string {
  if (value === null || ours === null || ours === 0) return ''
  return ` (x${(value / ours).toFixed(2)})`
}

function cell(value: number | null, ours: number | null, unit = ''): string {
  return value === null ? 'n/a' : `${value}${unit}${ratio(value, ours)}`
}

export function markdownTable(
  results: ServerResult[],
  sizes: { small: number; large: number; storm: number },
): string {
  const ours = results.find((r) => r.server === 'lifeline')
  const head =
    `| server | idle memory per stream (KiB) | fan-out p99 at ${sizes.small} (ms) | fan-out p99 at ${sizes.large} (ms) | ` +
    `delivered events/s | storm of ${sizes.storm}: all back after (ms) | /healthz p99 in the storm (ms) |`
  const lines = [head, '| --- | ---: | ---: | ---: | ---: | ---: | ---: |']
  for (const r of results) {
    lines.push(
      `| ${r.server} | ${cell(r.idleKiBPerStream, ours?.idleKiBPerStream ?? null)} | ` +
        `${cell(r.fanoutSmallP99, ours?.fanoutSmallP99 ?? null)} | ${cell(r.fanoutLargeP99, ours?.fanoutLargeP99 ?? null)} | ` +
        `${cell(r.deliveredPerSecond, ours?.deliveredPerSecond ?? null)} | ${cell(r.stormRecoveredMs, ours?.stormRecoveredMs ?? null)} | ` +
        `${cell(r.stormHealthzP99, ours?.stormHealthzP99 ?? null)} |`,
    )
  }
  return lines.join('\n')
}

export function chart(
  results: ServerResult[],
  sizes: { small: number; large: number; storm: number },
): string {
  const bars = (pick: (r: ServerResult) => number | null) =>
    results.map((r) => ({ name: r.server, value: pick(r) }))
  const panels: Panel[] = [
    {
      title: 'Idle memory per stream',
      unit: 'KiB',
      lowerIsBetter: true,
      bars: bars((r) => r.idleKiBPerStream),
    },
    {
      title: `Fan-out p99 at ${sizes.large} streams`,
      unit: 'ms',
      lowerIsBetter: true,
      bars: bars((r) => r.fanoutLargeP99),
    },
    {
      title: 'Delivered events/s',
      unit: 'events/s',
      lowerIsBetter: false,
      bars: bars((r) => r.deliveredPerSecond),
    },
    {
      title: `Storm of ${sizes.storm}: all back after`,
      unit: 'ms from the restart',
      lowerIsBetter: true,
      bars: bars((r) => r.stormRecoveredMs),
    },
  ]
  return barChartSvg('Lifeline and peer SSE servers, same machine, same runs', panels)
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      large: { type: 'string', default: '10000' },
      small: { type: 'string', default: '1000' },
      storm: { type: 'string', default: '10000' },
      servers: { type: 'string', default: PEER_NAMES.join(',') },
      write: { type: 'boolean', default: false },
    },
  })
  const sizes = { small: Number(values.small), large: Number(values.large), storm: Number(values.storm) }
  const servers = (values.servers as string).split(',') as PeerName[]
  for (const s of servers) if (!PEER_NAMES.includes(s)) throw new Error(`unknown server ${s}`)
  const m = machine()
  const command = `npx node bench/compare.ts --large ${sizes.large} --small ${sizes.small} --storm ${sizes.storm} --servers ${servers.join(',')}`
  console.error(`compare: ${describeMachine(m)}\n${command}`)
  const results: ServerResult[] = []
  for (const s of servers) results.push(await measure(s, sizes, (line) => console.error(line)))
  const table = markdownTable(results, sizes)
  console.log(table)
  for (const r of results) if (r.errors.length > 0) console.log(`${r.server}: ${r.errors.join('; ')}`)
  if (values.write) {
    const docs = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'benchmarks')
    writeFileSync(join(docs, 'peers.svg'), chart(results, sizes))
    writeFileSync(
      join(docs, 'peers.json'),
      `${JSON.stringify({ machine: m, command, date: new Date().toISOString(), sizes, results }, null, 2)}\n`,
    )
    console.error(
      `wrote docs/benchmarks/peers.svg and peers.json; paste the table into docs/benchmarks/peers.md`,
    )
  }
}
