/**
 * Fan-out under a neutral harness: the publisher runs IN each server process and publishes one event
 * per event-loop turn (bench/peers/turns.ts; gin/main.go has the same loop), so every server does the
 * same work per publish: format the event once, write it to every subscribed stream. No HTTP publish
 * requests, nothing batched by the harness. Peers: Lifeline the library (`createHub` + `handleNode`
 * on node:http, defaults), plain node:http, better-sse, Hono, Go/Gin (bench/peers/README.md).
 *
 *   npx node -C lifeline-source bench/turns.bench.ts                 (every scenario, every peer, 1 round)
 *   npx node -C lifeline-source bench/turns.bench.ts --rounds 3 --json turns.json   (medians, peers rotated)
 *   npx node -C lifeline-source bench/turns.bench.ts --peers lifeline-lib,gin --scenarios flood-1k,tick-1k
 *   npx node -C lifeline-source bench/turns.bench.ts --render a.json,b.json          (the table, medians over every stored round)
 *
 * Scenarios (one topic, every stream on it, 64-byte payloads, one fresh server process per peer and round):
 *   tick-10k   10 000 streams opened (time to accept them all: from the server counting its first
 *              stream to counting all; idle memory per stream: RSS growth / streams after 1 s idle),
 *              then 20 events/s for 10 s: ticks published of 200, losses, p50/p99 publish -> received.
 *   tick-1k    1 000 streams, 20 events/s for 10 s: p99.
 *   flood-1k   1 000 streams, flood for 5 s: delivered events/s, and delivered events per server
 *              CPU-second (utime + stime from /proc from the start of the flood to the end of the drain).
 *   kill-1k    1 000 streams held by one client process, which is SIGKILLed: time until the server
 *              counts none of them open (GET /bench/streams polled every 2 ms).
 *
 * Method: the clients are the project's bench fleet (packages/lifeline-hub/src/loadtool: raw sockets in forked worker
 * processes, spread over 127.0.0.x source addresses, fd limit per process respected). They count
 * every event's seq per stream (loss, duplicates, order) and read the send time from the payload
 * (performance.timeOrigin + now() in the server process, comparable across the processes of one
 * machine). Load stays on loopback. On a shared machine absolute numbers move with the load; compare
 * peers within one run (the ratios), and prefer CPU-seconds to wall time.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { Fleet, sleep } from '../packages/lifeline-hub/src/loadtool/fleet.ts'
import { summarize } from '../packages/lifeline-hub/src/loadtool/histogram.ts'
import { sampleProc } from '../packages/lifeline-hub/src/loadtool/proc.ts'
import { machineLine } from './lib/machine.ts'
import { type PeerName, type RunningPeer, startPeer } from './peers/start.ts'

const TOPIC = 'turns'
const PAYLOAD_BYTES = 64
const TICK_RATE = 20
const TICK_COUNT = 200
const FLOOD_MS = 5000
const DRAIN_MS = 5000

export const SCENARIOS = ['tick-10k', 'tick-1k', 'flood-1k', 'kill-1k'] as const
type Scenario = (typeof SCENARIOS)[number]
const DEFAULT_PEERS: PeerName[] = ['lifeline-lib', 'node-http', 'better-sse', 'hono', 'gin']

export type TurnsResult = {
  peer: PeerName
  acceptMs?: number | null
  idleKiBPerStream?: number | null
  tick10k?: RunStats
  tick1k?: RunStats
  flood1k?: RunStats & { eventsPerSecond: number; eventsPerCpuSecond: number | null }
  killMs?: number | null
  errors: string[]
}

type RunStats = {
  streams: number
  published: number
  /** Events received per stream, mean. */
  deliveredPerStream: number
  lost: number
  duplicates: number
  reordered: number
  /** Streams the server ended (or that failed) during the run. */
  dropped: number
  p50: number
  p99: number
  cpuSeconds: number | null
  wallMs: number
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i !== -1 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback
}

async function streamsOf(peer: RunningPeer): Promise<number> {
  const res = await fetch(`${peer.url}/bench/streams`, { signal: AbortSignal.timeout(5000) })
  return ((await res.json()) as { streams: number }).streams
}

async function waitStreams(
  peer: RunningPeer,
  test: (n: number) => boolean,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    if (test(await streamsOf(peer).catch(() => -1))) return true
    await sleep(20)
  }
  return false
}

function openFleet(peer: RunningPeer, connections: number, workers?: number): Fleet {
  return new Fleet({
    host: '127.0.0.1',
    port: peer.port,
    hostHeader: `127.0.0.1:${peer.port}`,
    path: `/events?topic=${TOPIC}`,
    appendTopic: false,
    topics: [TOPIC],
    headers: '',
    connectConcurrency: 256,
    connectTimeoutMs: 120_000,
    reconnect: false,
    defaultRetryMs: 1000,
    heartbeatTimeoutMs: 0,
    connections,
    workers,
    // Spread over source addresses so back-to-back runs never run short of ephemeral ports.
    sourceAddresses: Math.max(1, Math.ceil(connections / 2500)),
  })
}

/** Publishes in the server (POST /bench/turns), drains, and reads what every stream got. */
async function publishRun(
  peer: RunningPeer,
  fleet: Fleet,
  streams: number,
  spec: { mode: 'tick' | 'flood'; rate?: number; count?: number; durationMs: number },
): Promise<RunStats> {
  await fleet.expectFromStart()
  const before = fleet.counters()
  const cpu0 = sampleProc(peer.pid)?.cpuSeconds
  const t0 = performance.now()
  const res = await fetch(`${peer.url}/bench/turns`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ topic: TOPIC, bytes: PAYLOAD_BYTES, ...spec }),
    signal: AbortSignal.timeout(spec.durationMs + 60_000),
  })
  const { published } = (await res.json()) as { published: number }
  const expected = before.events + published * streams
  const drainEnd = performance.now() + DRAIN_MS
  while (performance.now() < drainEnd && fleet.counters().events < expected) await sleep(20)
  const wallMs = performance.now() - t0
  const cpu1 = sampleProc(peer.pid)?.cpuSeconds
  const final = await fleet.finish({ [TOPIC]: published })
  const c = final.counters
  const latency = summarize(final.latency)
  return {
    streams,
    published,
    deliveredPerStream: Math.round(((c.events - before.events) / streams) * 10) / 10,
    lost: c.lost,
    duplicates: c.duplicates,
    reordered: c.reordered,
    dropped: c.ended + c.errors - before.ended - before.errors,
    p50: latency.p50,
    p99: latency.p99,
    cpuSeconds: cpu0 !== undefined && cpu1 !== undefined ? Math.round((cpu1 - cpu0) * 100) / 100 : null,
    wallMs: Math.round(wallMs),
  }
}

async function closeFleet(peer: RunningPeer, fleet: Fleet): Promise<void> {
  await fleet.close()
  await waitStreams(peer, (n) => n === 0, 30_000)
}

async function tick10k(peer: RunningPeer, r: TurnsResult): Promise<void> {
  const n = 10_000
  const rssBefore = sampleProc(peer.pid)?.rssBytes
  const fleet = openFleet(peer, n, 2)
  try {
    // Accept time, as the server sees it: from its first counted stream to all of them.
    let first: number | undefined
    let all: number | undefined
    const deadline = performance.now() + 120_000
    while (performance.now() < deadline) {
      const count = await streamsOf(peer).catch(() => 0)
      const t = performance.now()
      if (count > 0 && first === undefined) first = t
      if (count >= n) {
        all = t
        break
      }
      await sleep(5)
    }
    r.acceptMs = first !== undefined && all !== undefined ? Math.round(all - first) : null
    await fleet.waitOpen(30_000)
    await sleep(1000)
    const rssOpen = sampleProc(peer.pid)?.rssBytes
    r.idleKiBPerStream =
      rssBefore !== undefined && rssOpen !== undefined
        ? Math.round((rssOpen - rssBefore) / n / 102.4) / 10
        : null
    r.tick10k = await publishRun(peer, fleet, n, {
      mode: 'tick',
      rate: TICK_RATE,
      count: TICK_COUNT,
      durationMs: (TICK_COUNT / TICK_RATE) * 1000,
    })
  } finally {
    await closeFleet(peer, fleet)
  }
}

async function run1k(peer: RunningPeer, r: TurnsResult, kind: 'tick' | 'flood'): Promise<void> {
  const n = 1000
  const fleet = openFleet(peer, n, 1)
  try {
    if (!(await fleet.waitOpen(60_000))) throw new Error('not every stream opened')
    if (kind === 'tick') {
      r.tick1k = await publishRun(peer, fleet, n, {
        mode: 'tick',
        rate: TICK_RATE,
        count: TICK_COUNT,
        durationMs: (TICK_COUNT / TICK_RATE) * 1000,
      })
      return
    }
    const s = await publishRun(peer, fleet, n, { mode: 'flood', durationMs: FLOOD_MS })
    const delivered = s.deliveredPerStream * n
    r.flood1k = {
      ...s,
      eventsPerSecond: Math.round((delivered / s.wallMs) * 1000),
      eventsPerCpuSecond: s.cpuSeconds ? Math.round(delivered / s.cpuSeconds) : null,
    }
  } finally {
    await closeFleet(peer, fleet)
  }
}

async function kill1k(peer: RunningPeer, r: TurnsResult): Promise<void> {
  const n = 1000
  const fleet = openFleet(peer, n, 1)
  try {
    if (!(await fleet.waitOpen(60_000))) throw new Error('not every stream opened')
    if (!(await waitStreams(peer, (c) => c >= n, 10_000)))
      throw new Error('server did not count every stream')
    await sleep(500)
    const t0 = performance.now()
    fleet.workers[0]?.child.kill('SIGKILL')
    const deadline = t0 + 30_000
    let seen: number | null = null
    while (performance.now() < deadline) {
      if ((await streamsOf(peer).catch(() => n)) === 0) {
        seen = Math.round(performance.now() - t0)
        break
      }
      await sleep(2)
    }
    r.killMs = seen
  } finally {
    await fleet.close()
  }
}

export async function measurePeer(name: PeerName, scenarios: readonly Scenario[]): Promise<TurnsResult> {
  const r: TurnsResult = { peer: name, errors: [] }
  const peer = await startPeer(name, { stderr: process.env.TURNS_DEBUG ? 'inherit' : 'ignore' })
  try {
    const steps: [Scenario, () => Promise<void>][] = [
      ['tick-10k', () => tick10k(peer, r)],
      ['tick-1k', () => run1k(peer, r, 'tick')],
      ['flood-1k', () => run1k(peer, r, 'flood')],
      ['kill-1k', () => kill1k(peer, r)],
    ]
    for (const [scenario, step] of steps) {
      if (!scenarios.includes(scenario)) continue
      try {
        await step()
      } catch (error) {
        r.errors.push(`${scenario}: ${(error as Error).message}`)
      }
    }
  } finally {
    await peer.stop()
  }
  return r
}

function median(values: (number | null | undefined)[]): number | null {
  const v = values.filter((x): x is number => typeof x === 'number').sort((a, b) => a - b)
  if (v.length === 0) return null
  const mid = Math.floor(v.length / 2)
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2
}

/** The rows of the summary table: one metric per row, one peer per column, medians over rounds. */
export const METRICS: { label: string; pick: (r: TurnsResult) => number | null | undefined }[] = [
  { label: 'idle memory per stream at 10k, KiB (RSS delta)', pick: (r) => r.idleKiBPerStream },
  { label: 'time to accept 10k streams, ms', pick: (r) => r.acceptMs },
  { label: '1k streams x 20/s: ticks published of 200', pick: (r) => r.tick1k?.published },
  { label: '1k streams x 20/s: p99 ms', pick: (r) => r.tick1k?.p99 },
  { label: '10k streams x 20/s: ticks published of 200', pick: (r) => r.tick10k?.published },
  { label: '10k streams x 20/s: events received per stream', pick: (r) => r.tick10k?.deliveredPerStream },
  { label: '10k streams x 20/s: p99 ms', pick: (r) => r.tick10k?.p99 },
  { label: 'flood, 1k streams: delivered events/s', pick: (r) => r.flood1k?.eventsPerSecond },
  { label: 'flood: delivered events per server CPU-second', pick: (r) => r.flood1k?.eventsPerCpuSecond },
  { label: '1000 SIGKILLed clients all seen closed, ms', pick: (r) => r.killMs },
  {
    label: 'lost + duplicated events, all runs',
    pick: (r) =>
      [r.tick10k, r.tick1k, r.flood1k].reduce((sum, s) => sum + (s ? s.lost + s.duplicates : 0), 0),
  },
]

export function table(peers: PeerName[], rounds: TurnsResult[][]): string {
  const head = `| metric | ${peers.join(' | ')} |`
  const rule = `| --- |${peers.map(() => ' ---: |').join('')}`
  const rows = METRICS.map((m) => {
    const cells = peers.map((p) => {
      const v = median(
        rounds.map((round) => round.find((r) => r.peer === p)).map((r) => (r ? m.pick(r) : null)),
      )
      return v === null ? 'n/a' : String(Math.round(v * 10) / 10)
    })
    return `| ${m.label} | ${cells.join(' | ')} |`
  })
  return [head, rule, ...rows].join('\n')
}

if (import.meta.main && process.argv.includes('--render')) {
  // Medians over the rounds of several stored runs (--json files): `--render a.json,b.json`.
  const files = arg('render', '').split(',')
  const runs = files.map(
    (f) => JSON.parse(readFileSync(f, 'utf8')) as { peers: PeerName[]; rounds: TurnsResult[][] },
  )
  const peers = (runs[0] as { peers: PeerName[] }).peers
  console.log(
    table(
      peers,
      runs.flatMap((r) => r.rounds),
    ),
  )
} else if (import.meta.main) {
  const peers = arg('peers', DEFAULT_PEERS.join(',')).split(',') as PeerName[]
  const scenarios = arg('scenarios', SCENARIOS.join(',')).split(',') as Scenario[]
  const roundsWanted = Number(arg('rounds', '1'))
  const jsonOut = arg('json', '')
  console.error(machineLine())
  console.error(`turns: peers ${peers.join(',')}, scenarios ${scenarios.join(',')}, ${roundsWanted} round(s)`)
  const rounds: TurnsResult[][] = []
  for (let round = 0; round < roundsWanted; round++) {
    const order = peers.map((_, i) => peers[(i + round) % peers.length] as PeerName)
    const results: TurnsResult[] = []
    for (const p of order) {
      const r = await measurePeer(p, scenarios)
      console.error(JSON.stringify(r))
      results.push(r)
    }
    rounds.push(results)
  }
  console.log(table(peers, rounds))
  for (const round of rounds)
    for (const r of round) if (r.errors.length) console.log(`${r.peer}: ${r.errors.join('; ')}`)
  if (jsonOut)
    writeFileSync(jsonOut, `${JSON.stringify({ machine: machineLine(), peers, rounds }, null, 2)}\n`)
}
