/**
 * Cluster mode on Redis Streams: what crossing Redis costs, next to one hub with its in-memory history.
 *
 *   npx node bench/cluster.bench.ts [--subscribers 1000] [--rate 20] [--seconds 8] [--burst-seconds 5]
 *
 * Everything runs on this machine, on loopback: one real redis-server (no persistence, then AOF with
 * `appendfsync always` for the publish rate), real `lifeline serve` processes, subscriber streams held
 * by bench worker processes (loadtool Fleet), publishes over keep-alive HTTP (loadtool Publisher).
 *
 * 1. Fan-out latency, publish -> event parsed by a subscriber, p50/p99 over every (event, subscriber):
 *    - single node: one hub (memory history), `--subscribers` streams, publish on the same hub;
 *    - one hub on Redis: the same, with the Redis history (the cost of the XADD -> XREAD hop alone);
 *    - cluster: three hubs on one Redis, `--subscribers` streams on EACH; publish on A, measured on B
 *      (cross-node: POST -> XADD on A -> XREAD on B -> fan-out on B), and on A itself for reference.
 *    - an in-process probe: 100 streams held by this process (no bench workers, fewer processes on the
 *      cores), single node and cross-node A->B, on this process' clock;
 *    - the Redis hop alone: `History.append` on node A to `onEvent` on node B, in one process, one
 *      event at a time (500 samples), no HTTP and no subscriber.
 *    `--rate` events/s for `--seconds`. Lost/duplicated events are counted per stream by seq.
 * 2. Publish rate: acknowledged POST /publish per second with no subscriber, 16 keep-alive lanes per
 *    hub, asked for far more than it can take for `--burst-seconds`: one hub (memory) against three
 *    hubs sharing one Redis (no persistence, then AOF always), plus the raw `History.append` rate of
 *    one node straight into Redis (64 in flight), which bounds what HTTP could reach.
 *
 * The machine is small and shared; read the numbers as ratios between lines of the same run.
 */
import { cpus, loadavg } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { Fleet } from '../packages/lifeline-hub/src/loadtool/fleet.ts'
import { Histogram, type LatencySummary, summarize } from '../packages/lifeline-hub/src/loadtool/histogram.ts'
import { Publisher } from '../packages/lifeline-hub/src/loadtool/publisher.ts'
import { EventStreamParser } from '../packages/lifeline-sse/src/protocol/parse.ts'
import { createRedisHistory } from '../packages/lifeline-sse/src/redis/index.ts'
import { type RedisServer, startRedisServer } from '../test/helpers/redis-server.ts'
import { openStream, publish, type ServeProcess, startServe } from '../test/hub/serve-process.ts'
import { machineLine } from './lib/machine.ts'

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  const value = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN
  return Number.isFinite(value) && value > 0 ? value : fallback
}

const SUBSCRIBERS = arg('subscribers', 1000)
const RATE = arg('rate', 20)
const SECONDS = arg('seconds', 8)
const BURST_SECONDS = arg('burst-seconds', 5)
const TOPIC = 'bench-0'
/** Far above what one small machine serves: the publisher skips what it cannot send (counted). */
const BURST_RATE = 50_000
const APPEND_IN_FLIGHT = 64
/** Streams of the in-process probe (see inProcess). */
const IN_PROCESS_STREAMS = 100
/** Warm-up publishing after a hub starts, ms: not measured. */
const WARM_MS = 1_500
/** No global stream limit (the default is already off; stated so a changed default cannot skew the run). */
const HUB_ARGS = ['--max-connections', '0']

interface Fanout {
  latency: LatencySummary
  received: number
  expected: number
  lost: number
  duplicates: number
}

function fleetFor(hub: ServeProcess): Fleet {
  const url = new URL(hub.url)
  return new Fleet({
    host: url.hostname,
    port: Number(url.port),
    hostHeader: url.host,
    path: '/events',
    appendTopic: true,
    topics: [TOPIC],
    headers: '',
    connectConcurrency: 128,
    connectTimeoutMs: 30_000,
    reconnect: false,
    defaultRetryMs: 1000,
    heartbeatTimeoutMs: 0,
    connections: SUBSCRIBERS,
    workers: 1,
  })
}

/** Opens SUBSCRIBERS streams on each hub, publishes RATE/s on `publishOn` for SECONDS, returns per-hub results. */
async function fanout(hubs: ServeProcess[], publishOn: ServeProcess): Promise<Fanout[]> {
  const fleets = hubs.map(fleetFor)
  try {
    for (const fleet of fleets) {
      if (!(await fleet.waitOpen(30_000))) throw new Error(`only ${fleet.counters().open} streams opened`)
    }
    await Promise.all(fleets.map((f) => f.expectFromStart()))
    const publisher = new Publisher({
      topics: [TOPIC],
      rate: RATE,
      payloadBytes: 64,
      url: `${publishOn.url}/publish`,
      headers: {},
    })
    publisher.start()
    await sleep(SECONDS * 1000)
    await publisher.stop()
    const expected = (publisher.seq[TOPIC] ?? 0) * SUBSCRIBERS
    const deadline = Date.now() + 5_000
    while (Date.now() < deadline && fleets.some((f) => f.counters().events < expected)) await sleep(50)
    const finals = await Promise.all(fleets.map((f) => f.finish(publisher.seq)))
    return finals.map((f) => ({
      latency: summarize(f.latency),
      received: f.counters.events,
      expected,
      lost: f.counters.lost,
      duplicates: f.counters.duplicates,
    }))
  } finally {
    await Promise.all(fleets.map((f) => f.close()))
  }
}

/** Acknowledged publishes per second over all `hubs`, BURST_RATE asked, no subscriber. */
async function publishRate(hubs: ServeProcess[]): Promise<{ perSecond: number; failed: number }> {
  const publishers = hubs.map(
    (hub) =>
      new Publisher({
        topics: [TOPIC],
        rate: BURST_RATE / hubs.length,
        payloadBytes: 64,
        url: `${hub.url}/publish`,
        headers: {},
      }),
  )
  const started = performance.now()
  for (const p of publishers) p.start()
  await sleep(BURST_SECONDS * 1000)
  await Promise.all(publishers.map((p) => p.stop()))
  const seconds = (performance.now() - started) / 1000
  const acknowledged = publishers.reduce((sum, p) => sum + p.stats.acknowledged, 0)
  const failed = publishers.reduce((sum, p) => sum + p.stats.failed, 0)
  return { perSecond: Math.round(acknowledged / seconds), failed }
}

/**
 * A lighter probe: IN_PROCESS_STREAMS streams on `receiveOn` held by this process, publishes from this
 * process to `publishOn` at RATE/s for SECONDS/2; latency on this process' clock. No bench workers, so
 * far fewer processes compete for the cores than in `fanout`.
 */
async function inProcess(publishOn: ServeProcess, receiveOn: ServeProcess): Promise<LatencySummary> {
  const histogram = new Histogram()
  const streams = await Promise.all(
    Array.from({ length: IN_PROCESS_STREAMS }, () =>
      openStream(receiveOn.url, `/events?topic=${TOPIC}-probe`),
    ),
  )
  try {
    for (const stream of streams) {
      const parser = new EventStreamParser({
        onEvent: (event) => histogram.record((performance.now() - Number(event.data)) * 1000),
      })
      stream.res.on('data', (chunk: Buffer) => parser.push(chunk))
    }
    const sends: Promise<unknown>[] = []
    const until = performance.now() + (SECONDS * 1000) / 2
    while (performance.now() < until) {
      sends.push(publish(publishOn.url, { topic: `${TOPIC}-probe`, data: String(performance.now()) }))
      await sleep(1000 / RATE)
    }
    await Promise.all(sends)
    const expected = sends.length * IN_PROCESS_STREAMS
    const deadline = Date.now() + 5_000
    while (histogram.count < expected && Date.now() < deadline) await sleep(20)
    return summarize(histogram)
  } finally {
    for (const stream of streams) stream.close()
  }
}

/** The Redis hop alone: append on node A, onEvent on node B (same process, one clock), one at a time. */
async function redisHop(redis: RedisServer, samples: number): Promise<LatencySummary> {
  const a = await createRedisHistory({ url: redis.url, keyPrefix: 'bench-hop:' })
  const b = await createRedisHistory({ url: redis.url, keyPrefix: 'bench-hop:' })
  try {
    const histogram = new Histogram()
    let arrived: (() => void) | undefined
    b.subscribe({
      onEvent: (event) => {
        histogram.record((performance.now() - Number(event.data)) * 1000)
        arrived?.()
      },
    })
    for (let i = 0; i < samples; i++) {
      const received = new Promise<void>((resolve) => {
        arrived = resolve
      })
      await a.append([TOPIC], { data: String(performance.now()) })
      await received
    }
    return summarize(histogram)
  } finally {
    await a.close()
    await b.close()
  }
}

/** One node's History.append straight into Redis, APPEND_IN_FLIGHT at a time. */
async function appendRate(redis: RedisServer): Promise<number> {
  const history = await createRedisHistory({ url: redis.url, keyPrefix: 'bench-append:' })
  try {
    let done = 0
    const until = performance.now() + BURST_SECONDS * 1000
    const lane = async () => {
      while (performance.now() < until) {
        await history.append([TOPIC], { data: 'x'.repeat(64) })
        done++
      }
    }
    const started = performance.now()
    await Promise.all(Array.from({ length: APPEND_IN_FLIGHT }, lane))
    return Math.round(done / ((performance.now() - started) / 1000))
  } finally {
    await history.close()
  }
}

/** Started hubs, warmed for WARM_MS (publishes nobody receives) so JIT and Redis connections are hot. */
async function hubs(count: number, extra: string[]): Promise<ServeProcess[]> {
  const started = await Promise.all(Array.from({ length: count }, () => startServe([...HUB_ARGS, ...extra])))
  // A hub listens at once but takes publishes only once it reads the stream (docs/design.md §8).
  for (const hub of started) {
    while ((await fetch(`${hub.url}/readyz`)).status !== 200) await sleep(20)
  }
  const warmers = started.map(
    (hub) =>
      new Publisher({
        topics: ['warm-up'],
        rate: 200,
        payloadBytes: 64,
        url: `${hub.url}/publish`,
        headers: {},
      }),
  )
  for (const w of warmers) w.start()
  await sleep(WARM_MS)
  await Promise.all(warmers.map((w) => w.stop()))
  return started
}

async function stopAll(list: ServeProcess[]): Promise<void> {
  await Promise.all(list.map((hub) => hub.stop('SIGKILL')))
}

const fmt = (l: LatencySummary) =>
  `p50 ${l.p50.toFixed(2)} ms  p99 ${l.p99.toFixed(2)} ms  max ${l.max.toFixed(1)} ms`
const integrity = (f: Fanout) => `${f.received}/${f.expected} received, ${f.lost} lost, ${f.duplicates} dup`

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')
console.log(machineLine())
console.log(`load average at start: ${load()} (other work on this machine shares the cores)`)
console.log(
  `cores ${cpus().length}; subscribers/node ${SUBSCRIBERS}, rate ${RATE}/s for ${SECONDS}s, burst ${BURST_SECONDS}s`,
)

// 1. Fan-out latency.
const single = await hubs(1, [])
let singleFan: Fanout
let singleProbe: LatencySummary
try {
  ;[singleFan] = (await fanout(single, single[0] as ServeProcess)) as [Fanout]
  singleProbe = await inProcess(single[0] as ServeProcess, single[0] as ServeProcess)
} finally {
  await stopAll(single)
}
console.log(`\nfan-out latency (publish -> subscriber), ${SUBSCRIBERS} subscribers per node`)
console.log(`  single node (memory)       ${fmt(singleFan.latency)}   ${integrity(singleFan)}`)

const redis = await startRedisServer()
let crossB: Fanout
try {
  console.log(
    `  Redis hop, History A -> B     ${fmt(await redisHop(redis, 500))}   (append -> XADD -> XREAD -> onEvent, no HTTP)`,
  )
  // One hub on Redis: the Redis round trip alone (XADD, then XREAD back), same load as the single node.
  const alone = await hubs(1, ['--redis', redis.url, '--redis-prefix', 'alone:'])
  try {
    const [onAlone] = (await fanout(alone, alone[0] as ServeProcess)) as [Fanout]
    console.log(`  one hub on Redis           ${fmt(onAlone.latency)}   ${integrity(onAlone)}`)
  } finally {
    await stopAll(alone)
  }
  const cluster = await hubs(3, ['--redis', redis.url])
  try {
    const [onA, onB, onC] = (await fanout(cluster, cluster[0] as ServeProcess)) as [Fanout, Fanout, Fanout]
    crossB = onB
    console.log(`  cluster, same node (A->A)  ${fmt(onA.latency)}   ${integrity(onA)}`)
    console.log(`  cluster, cross (A->B)      ${fmt(onB.latency)}   ${integrity(onB)}`)
    console.log(`  cluster, cross (A->C)      ${fmt(onC.latency)}   ${integrity(onC)}`)
    const crossProbe = await inProcess(cluster[0] as ServeProcess, cluster[1] as ServeProcess)
    console.log(`\nin-process probe (${IN_PROCESS_STREAMS} streams held by this process, no bench workers)`)
    console.log(`  single node (memory)       ${fmt(singleProbe)}`)
    console.log(`  cluster, cross (A->B)      ${fmt(crossProbe)}`)
    console.log(
      `  probe ratio cross/single: p50 x${(crossProbe.p50 / singleProbe.p50).toFixed(2)}, p99 x${(crossProbe.p99 / singleProbe.p99).toFixed(2)}`,
    )
    console.log(
      `  fleet ratio cross/single: p50 x${(crossB.latency.p50 / singleFan.latency.p50).toFixed(2)}, p99 x${(crossB.latency.p99 / singleFan.latency.p99).toFixed(2)}`,
    )
  } finally {
    await stopAll(cluster)
  }

  // 2. Publish rate.
  console.log(`\npublish rate (acknowledged POST /publish per second, no subscriber, ${BURST_SECONDS}s)`)
  const one = await hubs(1, [])
  let oneRate: { perSecond: number; failed: number }
  try {
    oneRate = await publishRate(one)
  } finally {
    await stopAll(one)
  }
  console.log(`  single node (memory)            ${oneRate.perSecond}/s`)
  const three = await hubs(3, ['--redis', redis.url, '--redis-prefix', 'burst:'])
  try {
    const r = await publishRate(three)
    console.log(
      `  3 hubs, one Redis (no persist.) ${r.perSecond}/s   x${(r.perSecond / oneRate.perSecond).toFixed(2)} of single, ${r.failed} failed`,
    )
  } finally {
    await stopAll(three)
  }
  console.log(
    `  History.append, one node, raw    ${await appendRate(redis)}/s (${APPEND_IN_FLIGHT} in flight, no HTTP)`,
  )
} finally {
  await redis.stop()
}

const durable = await startRedisServer({ aof: true })
try {
  const three = await hubs(3, ['--redis', durable.url])
  try {
    const r = await publishRate(three)
    console.log(`  3 hubs, one Redis AOF always    ${r.perSecond}/s, ${r.failed} failed`)
  } finally {
    await stopAll(three)
  }
  console.log(`  History.append, AOF always, raw  ${await appendRate(durable)}/s`)
} finally {
  await durable.stop()
}
console.log(`\nload average at end: ${load()}`)
