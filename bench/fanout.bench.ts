/**
 * Fan-out: Lifeline's hub against a plain node:http SSE server, better-sse and the Go/Gin server of
 * the article, in the same run, each a child process with the same routes (bench/peers/README.md).
 *
 *   npx node bench/fanout.bench.ts                       (all scenarios, all peers, 10 s each)
 *   npx node bench/fanout.bench.ts --seconds 5 --scenarios latency-1k --peers lifeline,node-http
 *   npx node bench/fanout.bench.ts --rounds 3 --json results.json
 *
 * Scenarios (one topic, every stream subscribed to it, 64-byte payloads):
 *   latency-1k     1000 streams, 20 events/s: publish -> received latency p50/p99/max.
 *   latency-10k    10000 streams, 20 events/s: the same, plus how many of the expected deliveries
 *                  arrived at all (a server that falls behind shows it here first).
 *   throughput-1k  1000 streams, publishing as fast as the server acknowledges (16 keep-alive
 *                  publish lanes, no pacing limit): delivered events per second over all streams.
 *
 * Method: the load is the project's bench fleet (packages/lifeline-hub/src/loadtool/: the engine of
 * `lifeline bench`). The subscribers live in forked worker processes, so the server process only serves; the publisher
 * (POST /publish) runs in this process. Each payload carries the publisher's clock
 * (performance.timeOrigin + performance.now(), monotonic in each process and shared by the processes
 * of one machine) and a per-topic sequence number, so the receivers measure latency and count lost,
 * duplicated and reordered events. Server CPU is read from /proc/<pid>/stat from the start of the
 * publish phase to the end of the drain, and divided by the events delivered: "server µs per
 * delivered event" is the cost the issue asks to beat, and it is the number that stays meaningful
 * on a busy machine (latency and events/s depend on what else runs). Peers are started in a rotated
 * order each round. Lifeline runs with `--log-level warn` (the peers log nothing per connection).
 * Loopback only; every child process is stopped at the end.
 */
import { writeFileSync } from 'node:fs'
import { type BenchReport, runBench } from '../packages/lifeline-hub/src/loadtool/index.ts'
import { sampleProc } from '../packages/lifeline-hub/src/loadtool/proc.ts'
import { machineLine } from './lib/machine.ts'
import { type PeerName, startPeer } from './peers/start.ts'

type Scenario = { name: string; connections: number; rate: number; what: string }

const SCENARIOS: Scenario[] = [
  { name: 'latency-1k', connections: 1000, rate: 20, what: 'latency at 1k streams, 20 events/s' },
  { name: 'latency-10k', connections: 10_000, rate: 20, what: 'latency at 10k streams, 20 events/s' },
  // A rate far above what any server acknowledges: the publisher sends as fast as acks come back.
  {
    name: 'throughput-1k',
    connections: 1000,
    rate: 1_000_000,
    what: 'delivered events/s at 1k streams, max rate',
  },
]
const DEFAULT_PEERS: PeerName[] = ['lifeline', 'node-http', 'better-sse', 'gin']

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i !== -1 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback
}

const seconds = Number(arg('seconds', '10'))
const rounds = Number(arg('rounds', '1'))
const peers = arg('peers', DEFAULT_PEERS.join(',')).split(',') as PeerName[]
const wanted = arg('scenarios', SCENARIOS.map((s) => s.name).join(',')).split(',')
const jsonOut = arg('json', '')
const scenarios = SCENARIOS.filter((s) => wanted.includes(s.name))

type Row = {
  scenario: string
  peer: PeerName
  round: number
  p50: number
  p99: number
  max: number
  received: number
  expected: number
  perSecond: number
  lost: number
  duplicates: number
  reordered: number
  published: number
  reconnects: number
  cpuUsPerEvent: number | null
  error?: string
}

async function runOne(s: Scenario, peer: PeerName, round: number): Promise<Row> {
  const extraArgs = peer === 'lifeline' ? ['--log-level', 'warn'] : []
  const server = await startPeer(peer, { extraArgs })
  let cpuStart: number | undefined
  try {
    const report: BenchReport = await runBench(
      {
        url: `${server.url}/events`,
        connections: s.connections,
        rate: s.rate,
        durationMs: seconds * 1000,
        drainMs: 3000,
        serverPid: server.pid,
        connectTimeoutMs: 60_000,
      },
      (p) => {
        if (p.phase === 'publish' && cpuStart === undefined) cpuStart = sampleProc(server.pid)?.cpuSeconds
      },
    )
    const cpuEnd = sampleProc(server.pid)?.cpuSeconds
    const d = report.delivery
    return {
      scenario: s.name,
      peer,
      round,
      p50: d.latencyMs.p50,
      p99: d.latencyMs.p99,
      max: d.latencyMs.max,
      received: d.received,
      expected: d.expected,
      perSecond: d.perSecond,
      lost: d.lost,
      duplicates: d.duplicates,
      reordered: d.reordered,
      published: report.publish.acknowledged,
      reconnects: report.streams.reconnects,
      cpuUsPerEvent:
        cpuStart !== undefined && cpuEnd !== undefined && d.received > 0
          ? Math.round(((cpuEnd - cpuStart) * 1e6 * 100) / d.received) / 100
          : null,
    }
  } catch (error) {
    const zero = { p50: 0, p99: 0, max: 0, received: 0, expected: 0, perSecond: 0, lost: 0, duplicates: 0 }
    return {
      scenario: s.name,
      peer,
      round,
      ...zero,
      reordered: 0,
      published: 0,
      reconnects: 0,
      cpuUsPerEvent: null,
      error: String(error),
    }
  } finally {
    await server.stop()
  }
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b)
  if (v.length === 0) return 0
  const mid = v.length >> 1
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length)
}

function table(s: Scenario, rows: Row[]): string {
  const out = [`\n## ${s.name}: ${s.what} (${seconds} s, median of ${rounds} round(s))`]
  const header = [
    'peer',
    'published',
    'p50 ms',
    'p99 ms',
    'max ms',
    'delivered',
    'events/s',
    'lost',
    'dup',
    'reconn',
    'srv µs/event',
    'vs lifeline',
  ]
  out.push(header.map((h, i) => pad(h, i === 0 ? 11 : 13)).join(''))
  const byPeer = new Map<PeerName, Row[]>()
  for (const r of rows) byPeer.set(r.peer, [...(byPeer.get(r.peer) ?? []), r])
  const m = (list: Row[], f: (r: Row) => number) => median(list.map(f))
  const base = byPeer.get('lifeline')
  for (const [peer, list] of byPeer) {
    const ok = list.filter((r) => r.error === undefined)
    if (ok.length === 0) {
      out.push(`${pad(peer, 11)}failed: ${list[0]?.error}`)
      continue
    }
    const delivered = m(ok, (r) => (r.expected > 0 ? r.received / r.expected : 0))
    const cpu = ok.map((r) => r.cpuUsPerEvent).filter((x): x is number => x !== null)
    let ratio = ''
    if (base && peer !== 'lifeline') {
      const bOk = base.filter((r) => r.error === undefined)
      ratio = s.name.startsWith('throughput')
        ? `${(
            m(bOk, (r) => r.perSecond) /
              Math.max(
                1,
                m(ok, (r) => r.perSecond),
              )
          ).toFixed(2)}x ev/s`
        : `${(
            m(ok, (r) => r.p99) /
              Math.max(
                0.001,
                m(bOk, (r) => r.p99),
              )
          ).toFixed(2)}x p99`
    }
    const cells = [
      peer,
      String(m(ok, (r) => r.published)),
      m(ok, (r) => r.p50).toFixed(1),
      m(ok, (r) => r.p99).toFixed(1),
      m(ok, (r) => r.max).toFixed(1),
      `${(delivered * 100).toFixed(1)}%`,
      String(m(ok, (r) => r.perSecond)),
      String(m(ok, (r) => r.lost)),
      String(m(ok, (r) => r.duplicates)),
      String(m(ok, (r) => r.reconnects)),
      cpu.length > 0 ? median(cpu).toFixed(2) : '-',
      ratio,
    ]
    out.push(cells.map((c, i) => pad(c, i === 0 ? 11 : 13)).join(''))
  }
  return out.join('\n')
}

console.log(`fan-out bench — ${machineLine()}`)
console.log(
  `peers: ${peers.join(', ')}; scenarios: ${scenarios.map((s) => s.name).join(', ')}; ${seconds} s each; ${rounds} round(s)`,
)
const rows: Row[] = []
for (const s of scenarios) {
  for (let round = 0; round < rounds; round++) {
    // Rotate the order so no peer always runs first (warm caches) or last (a hotter machine).
    const order = peers.map((_, i) => peers[(i + round) % peers.length] as PeerName)
    for (const peer of order) {
      const row = await runOne(s, peer, round)
      rows.push(row)
      console.log(
        `  ${s.name} round ${round + 1} ${pad(peer, 10)} ` +
          (row.error
            ? `failed: ${row.error}`
            : `${row.published} published, p50 ${row.p50} ms p99 ${row.p99} ms max ${row.max} ms, ${row.received}/${row.expected} delivered, ${row.perSecond} ev/s, lost ${row.lost}, dup ${row.duplicates}, reconnects ${row.reconnects}, server ${row.cpuUsPerEvent ?? '-'} µs/event`),
      )
    }
  }
  console.log(
    table(
      s,
      rows.filter((r) => r.scenario === s.name),
    ),
  )
}
if (jsonOut)
  writeFileSync(jsonOut, JSON.stringify({ machine: machineLine(), seconds, rounds, rows }, null, 2))
