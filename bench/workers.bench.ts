/**
 * `lifeline serve --workers 2` against `--workers 1` (and the Go/Gin peer, which uses every core), in
 * the same run, one server at a time, on three loads (one topic, every stream subscribed, 64-byte
 * payloads):
 *
 *   accept-10k     open 10 000 streams (256 connects in flight): time until all are open.
 *   throughput-1k  1000 streams, publishing as fast as the server acknowledges: delivered events/s.
 *   ticks-10k      10 000 streams, 20 events/s for --seconds: ticks every stream received (of those
 *                  published), publish -> receive p99.
 *
 *   npx node -C lifeline-source bench/workers.bench.ts [--seconds 10] [--servers w1,w2,gin] [--scenarios accept-10k,...]
 *
 * Method: the load is the project's bench fleet (packages/lifeline-hub/src/loadtool, the engine of `lifeline bench`, as in
 * bench/fanout.bench.ts): subscribers in forked processes, the publisher in this one, latency from the
 * publisher's clock carried in each payload. Server CPU is summed over the server's process and its
 * children (the workers) from /proc, and per delivered event (the number that moves least with
 * machine load). The load generator shares the machine with the server: on a
 * 2-core machine a second worker competes with the subscribers for the same cores, so read the
 * numbers as ratios within one run. Loopback only; every child process is stopped at the end.
 */
import { readFileSync } from 'node:fs'
import { type BenchReport, runBench } from '../packages/lifeline-hub/src/loadtool/index.ts'
import { sampleProc } from '../packages/lifeline-hub/src/loadtool/proc.ts'
import { machineLine } from './lib/machine.ts'
import { type RunningPeer, startPeer } from './peers/start.ts'

type Scenario = { name: string; connections: number; rate: number; publish: boolean; what: string }

const SCENARIOS: Scenario[] = [
  { name: 'accept-10k', connections: 10_000, rate: 0, publish: false, what: 'time to open 10k streams' },
  {
    name: 'throughput-1k',
    connections: 1000,
    rate: 1_000_000,
    publish: true,
    what: 'delivered events/s at 1k streams, max rate',
  },
  { name: 'ticks-10k', connections: 10_000, rate: 20, publish: true, what: '10k streams x 20 events/s' },
]

const SERVERS = {
  w1: { peer: 'lifeline', args: ['--workers', '1'], workers: 1 },
  w2: { peer: 'lifeline', args: ['--workers', '2'], workers: 2 },
  gin: { peer: 'gin', args: [], workers: 1 },
} as const
type ServerName = keyof typeof SERVERS

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i !== -1 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback
}

const seconds = Number(arg('seconds', '10'))
const servers = arg('servers', 'w1,w2,gin').split(',') as ServerName[]
const wanted = arg('scenarios', SCENARIOS.map((s) => s.name).join(',')).split(',')
const scenarios = SCENARIOS.filter((s) => wanted.includes(s.name))

/** CPU seconds of a process and its children (a hub's workers). */
function treeCpu(pid: number): number {
  let total = sampleProc(pid)?.cpuSeconds ?? 0
  let children: string[] = []
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(/\s+/).filter(Boolean)
  } catch {
    // No such file (not Linux) or the process is gone: its own time only.
  }
  for (const c of children) total += treeCpu(Number(c))
  return total
}

/** With --log-level warn the hub prints nothing: wait until every worker has answered /healthz. */
async function everyWorkerServes(server: RunningPeer, workers: number): Promise<void> {
  if (workers < 2) return
  const seen = new Set<string>()
  const deadline = Date.now() + 20_000
  while (seen.size < workers && Date.now() < deadline) {
    const res = await fetch(`${server.url}/healthz`, { headers: { connection: 'close' } }).catch(
      () => undefined,
    )
    const w = res?.headers.get('x-lifeline-worker')
    await res?.body?.cancel()
    if (w) seen.add(w)
  }
  if (seen.size < workers) throw new Error(`only ${seen.size} of ${workers} workers answered`)
}

type Row = {
  scenario: string
  server: ServerName
  allOpenMs: number | null
  perSecond: number
  p99: number
  ticksMin: number
  published: number
  received: number
  expected: number
  lost: number
  duplicates: number
  cpuSeconds: number
  error?: string
}

async function runOne(s: Scenario, name: ServerName): Promise<Row> {
  const spec = SERVERS[name]
  const server = await startPeer(spec.peer, {
    extraArgs: spec.peer === 'lifeline' ? [...spec.args, '--log-level', 'warn'] : [],
  })
  let cpuStart = 0
  const row: Row = {
    scenario: s.name,
    server: name,
    allOpenMs: null,
    perSecond: 0,
    p99: 0,
    ticksMin: 0,
    published: 0,
    received: 0,
    expected: 0,
    lost: 0,
    duplicates: 0,
    cpuSeconds: 0,
  }
  try {
    await everyWorkerServes(server, spec.workers)
    cpuStart = treeCpu(server.pid)
    const report: BenchReport = await runBench({
      url: `${server.url}/events`,
      connections: s.connections,
      rate: s.rate,
      durationMs: s.publish ? seconds * 1000 : 0,
      // Generous: on a loaded machine events still in flight at the end are not lost, only late.
      drainMs: s.publish ? 10_000 : 0,
      connectTimeoutMs: 60_000,
    })
    const d = report.delivery
    row.allOpenMs = report.connect.allOpenMs
    row.perSecond = d.perSecond
    row.p99 = d.latencyMs.p99
    row.published = report.publish.acknowledged
    row.received = d.received
    row.expected = d.expected
    row.lost = d.lost
    row.duplicates = d.duplicates
    // Ticks: events per stream, on average, of those published (20/s x seconds).
    row.ticksMin = s.connections > 0 ? Math.floor(d.received / s.connections) : 0
    row.cpuSeconds = Math.round((treeCpu(server.pid) - cpuStart) * 100) / 100
  } catch (error) {
    row.error = String(error)
  } finally {
    await server.stop()
  }
  return row
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length)
}

console.log(`workers bench — ${machineLine()}`)
console.log(
  `servers: ${servers.join(', ')}; scenarios: ${scenarios.map((s) => s.name).join(', ')}; ${seconds} s`,
)
for (const s of scenarios) {
  const rows: Row[] = []
  for (const name of servers) rows.push(await runOne(s, name))
  console.log(`\n## ${s.name}: ${s.what}`)
  const base = rows.find((r) => r.server === 'w1' && r.error === undefined)
  for (const r of rows) {
    if (r.error) {
      console.log(`${pad(r.server, 5)} failed: ${r.error}`)
      continue
    }
    let ratio = ''
    if (base && r !== base) {
      if (s.name === 'accept-10k' && r.allOpenMs && base.allOpenMs)
        ratio = `open time ${(r.allOpenMs / base.allOpenMs).toFixed(2)}x of w1`
      if (s.name === 'throughput-1k')
        ratio = `${(r.perSecond / Math.max(1, base.perSecond)).toFixed(2)}x ev/s of w1`
      if (s.name === 'ticks-10k') ratio = `p99 ${(r.p99 / Math.max(0.001, base.p99)).toFixed(2)}x of w1`
    }
    const cells =
      s.name === 'accept-10k'
        ? [`all open ${r.allOpenMs ?? '-'} ms`]
        : [
            `${r.published} published`,
            `${r.received}/${r.expected} delivered`,
            `${r.perSecond} ev/s`,
            `p99 ${r.p99} ms`,
            `~${r.ticksMin} per stream`,
            `lost ${r.lost} dup ${r.duplicates}`,
          ]
    // CPU per delivered event moves least with machine load (bench/fanout.bench.ts uses it too).
    const perEvent = r.received > 0 ? `, ${((r.cpuSeconds * 1e6) / r.received).toFixed(2)} µs/event` : ''
    console.log(`${pad(r.server, 5)} ${cells.join(', ')}, server cpu ${r.cpuSeconds} s${perEvent} ${ratio}`)
  }
}
