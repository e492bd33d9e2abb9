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
 *       npx node bench/compare.ts --render docs/benchmarks/peers.json   (peers.md and peers.svg from a stored run)
 * Results are also given as ratios to Lifeline (peer / lifeline). Every run goes to loopback.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { describeMachine, machine } from '../packages/lifeline-hub/src/loadtool/machine.ts'
import { type BenchReport, runBench } from '../packages/lifeline-hub/src/loadtool/run.ts'
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
      unit: 'ms after the new server listened',
      lowerIsBetter: true,
      bars: bars((r) => r.stormRecoveredMs),
    },
  ]
  return barChartSvg('Lifeline and peer SSE servers, same machine, same runs', panels)
}

type Stored = {
  machine: ReturnType<typeof machine>
  command: string
  date: string
  sizes: { small: number; large: number; storm: number }
  results: ServerResult[]
}

/** The goal: a storm of 10k all back within 10 s, /healthz under 100 ms throughout. */
function stormGoal(run: Stored): string[] {
  const ours = run.results.find((r) => r.server === 'lifeline')
  const storm = ours?.raw.storm
  if (!ours || !storm) return ['Lifeline was not in this run.']
  const back = storm.recoveredAfterListenMs
  const worst = storm.healthz.max
  return [
    `Goal: ${run.sizes.storm} streams all back within 10 s of the restart, /healthz under 100 ms throughout.`,
    `This run: all back after ${back ?? 'never'} ms (${back !== null && back <= 10_000 ? 'met' : 'not met'}), ` +
      `/healthz p50 ${storm.healthz.p50} ms, p99 ${storm.healthz.p99} ms, max ${worst} ms ` +
      `(${worst < 100 ? 'met' : 'not met'}), ${storm.healthz.failures} probes failed, ${storm.refused} connection attempts ` +
      `refused while the hub was down (the old one took ${storm.restartMs} ms to stop and the new one to serve).`,
    'On this loaded 2-core machine the reconnecting clients, the bench workers and the hub share the same',
    'two cores, so the recovery time is bounded by how fast 10k TCP handshakes and HTTP requests',
    'get scheduled at all; the peers, measured the same way, are in the table above.',
  ]
}

/** docs/benchmarks/peers.md for one stored run. */
export function peersMarkdown(run: Stored): string {
  const m = run.machine
  const tick = '`'
  const notes = run.results
    .filter((r) => r.fanoutLargeLost > 0 || r.errors.length > 0)
    .map(
      (r) =>
        `- ${tick}${r.server}${tick}: ${r.fanoutLargeLost} events not delivered in the ${run.sizes.large}-stream run` +
        (r.errors.length > 0 ? `; errors: ${r.errors.join('; ')}` : ''),
    )
  return [
    '# Lifeline and peer SSE servers',
    '',
    '<!-- Written by bench/compare.ts from peers.json; rerun the command below to refresh. -->',
    '',
    `The same load, from the same bench (${tick}lifeline bench${tick}'s engine, packages/lifeline-hub/src/loadtool/), against Lifeline and four`,
    'other SSE servers with one interface (bench/peers/README.md): a plain node:http server, better-sse,',
    "Hono's streamSSE and a Go/Gin server shaped after the article the project started from. One server",
    'runs at a time, on loopback, on the same machine as the bench.',
    '',
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB, Node ${m.node}, ${m.platform} (Go 1.19 / Gin 1.8 for ${tick}gin${tick})`,
    `- Date: ${run.date}`,
    `- Command: ${tick}${run.command} --write${tick}`,
    '',
    markdownTable(run.results, run.sizes),
    '',
    "Each cell is the value and, in brackets, its ratio to Lifeline's (peer / lifeline): below 1 the peer",
    'used less memory or less time, or (events/s) delivered less.',
    '',
    '![Lifeline and peers](peers.svg)',
    '',
    '## How each number is taken',
    '',
    `- **Idle memory per stream**: the server's RSS (from /proc) once all ${run.sizes.large} streams are open and idle,`,
    '  minus its RSS before they connected, divided by the streams.',
    `- **Fan-out p99**: ${run.sizes.small} streams at ${FANOUT_RATE_SMALL} events/s and ${run.sizes.large} streams at ${FANOUT_RATE_LARGE} event/s, all on one`,
    `  topic, ${FANOUT_MS / 1000} s each: the 99th percentile of publish -> receive over every delivered event (the`,
    '  timestamp is in the payload; docs/bench.md says how the clocks compare). The rates are kept low so',
    "  that the bench's own workers are not the bottleneck: the number is the time to write one event to",
    '  every stream and have it read.',
    `- **Delivered events/s**: ${THROUGHPUT_STREAMS} streams on one topic, ${THROUGHPUT_RATE} events/s published for ${THROUGHPUT_MS / 1000} s; received events per second.`,
    `- **Storm**: ${run.sizes.storm} streams open, the server stopped (SIGTERM) and started again on the same port;`,
    '  the time from the new server answering /healthz until every stream is open again, and the p99 of a',
    '  /healthz probe (a new connection every 50 ms) meanwhile (bench/storm.bench.ts). Clients wait the',
    `  server's ${tick}retry:${tick} with +-20% jitter (1 s when it sent none). Lifeline runs with`,
    `  ${tick}--retry 1s --shutdown-timeout 2s${tick}.`,
    '',
    '## The storm goal',
    '',
    ...stormGoal(run),
    '',
    '## Reading these numbers',
    '',
    'The machine is a shared 2-core virtual machine on which other test suites ran at the same time (load',
    'average 10-20): absolute latencies are inflated and vary between runs; the ratios within one run are',
    'the more stable part, and even they move by tens of percent. Rerun the command on a quiet machine for',
    'numbers to quote.',
    '',
    ...(notes.length > 0 ? ['Not everything arrived:', '', ...notes, ''] : []),
  ].join('\n')
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      large: { type: 'string', default: '10000' },
      small: { type: 'string', default: '1000' },
      storm: { type: 'string', default: '10000' },
      servers: { type: 'string', default: PEER_NAMES.join(',') },
      write: { type: 'boolean', default: false },
      render: { type: 'string' },
    },
  })
  const docs = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'benchmarks')
  if (values.render) {
    const run = JSON.parse(readFileSync(values.render, 'utf8')) as Stored
    writeFileSync(join(docs, 'peers.md'), peersMarkdown(run))
    writeFileSync(join(docs, 'peers.svg'), chart(run.results, run.sizes))
    console.error('wrote docs/benchmarks/peers.md and peers.svg')
    process.exit(0)
  }
  const sizes = { small: Number(values.small), large: Number(values.large), storm: Number(values.storm) }
  const servers = (values.servers as string).split(',') as PeerName[]
  for (const s of servers)
    if (!(PEER_NAMES as readonly string[]).includes(s)) throw new Error(`unknown server ${s}`)
  const m = machine()
  const command =
    `npx node bench/compare.ts --large ${sizes.large} --small ${sizes.small} --storm ${sizes.storm} ` +
    `--servers ${servers.join(',')}`
  console.error(`compare: ${describeMachine(m)}\n${command}`)
  const results: ServerResult[] = []
  for (const s of servers) results.push(await measure(s, sizes, (line) => console.error(line)))
  console.log(markdownTable(results, sizes))
  for (const r of results) if (r.errors.length > 0) console.log(`${r.server}: ${r.errors.join('; ')}`)
  if (values.write) {
    const run: Stored = { machine: m, command, date: new Date().toISOString(), sizes, results }
    writeFileSync(join(docs, 'peers.svg'), chart(results, sizes))
    writeFileSync(join(docs, 'peers.json'), `${JSON.stringify(run, null, 2)}\n`)
    writeFileSync(join(docs, 'peers.md'), peersMarkdown(run))
    console.error('wrote docs/benchmarks/peers.md, peers.svg and peers.json')
  }
}
