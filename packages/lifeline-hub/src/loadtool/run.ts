/**
 * One bench run, the phases in order:
 *   1. connect: open every stream (bounded in-flight connects), timed; the server's RSS is sampled
 *      before and once all are open (idle memory per stream);
 *   2. publish: `rate` events/s for `duration`, round-robin over the topics (skipped when rate is 0:
 *      the streams are held idle for `duration`);
 *   3. drain: wait up to `drain` for the last events to arrive;
 *   4. report: latency, throughput, losses/duplicates (by per-topic seq), reconnects, server use.
 */
import { LifelineError } from 'lifeline-sse/protocol'
import { Fleet, sleep } from './fleet.ts'
import { type LatencySummary, summarize } from './histogram.ts'
import { type Machine, machine } from './machine.ts'
import type { PoolCounters } from './pool.ts'
import { type ProcSummary, ProcWatcher } from './proc.ts'
import { Publisher } from './publisher.ts'
import { resolveTarget } from './target.ts'

/** The largest run the tool agrees to: streams and seconds. */
export const MAX_CONNECTIONS = 100_000
export const MAX_DURATION_MS = 4 * 3_600_000

export type BenchOptions = {
  url: string
  connections: number
  durationMs: number
  /** Events per second over all topics; 0: no publishing. */
  rate: number
  topics: number
  topicPrefix: string
  payloadBytes: number
  publishUrl?: string
  publishCommand?: string
  headers: Record<string, string>
  workers?: number
  sourceAddresses?: number
  connectConcurrency: number
  connectTimeoutMs: number
  drainMs: number
  heartbeatTimeoutMs: number
  defaultRetryMs: number
  reconnect: boolean
  serverPid?: number
  allowRemote: boolean
}

export const DEFAULT_BENCH_OPTIONS: Omit<BenchOptions, 'url'> = {
  connections: 100,
  durationMs: 10_000,
  rate: 0,
  topics: 1,
  topicPrefix: 'bench-',
  payloadBytes: 64,
  headers: {},
  connectConcurrency: 256,
  connectTimeoutMs: 30_000,
  drainMs: 2000,
  heartbeatTimeoutMs: 0,
  defaultRetryMs: 1000,
  reconnect: true,
  allowRemote: false,
}

export type Progress = {
  phase: 'connect' | 'publish' | 'drain' | 'done'
  elapsedMs: number
  phaseMs: number
  phaseTotalMs: number
  counters: PoolCounters
  published: number
}

export type BenchReport = {
  machine: Machine
  target: string
  options: Omit<BenchOptions, 'headers'>
  connect: LatencySummary & { opened: number; allOpenMs: number | null }
  publish: { sent: number; acknowledged: number; failed: number; skipped: number; ackMs: LatencySummary }
  delivery: {
    received: number
    perSecond: number
    expected: number
    lost: number
    /** Missing at the end on streams that were between two connections (not counted as lost). */
    unsettled: number
    duplicates: number
    reordered: number
    resets: number
    foreign: number
    latencyMs: LatencySummary
  }
  streams: Omit<
    PoolCounters,
    'events' | 'lost' | 'unsettled' | 'duplicates' | 'reordered' | 'resets' | 'foreign'
  >
  server?: ProcSummary & { idleBytesPerStream: number | null }
  durationMs: number
}

export async function runBench(
  input: Partial<BenchOptions> & { url: string },
  onProgress?: (p: Progress) => void,
): Promise<BenchReport> {
  const o: BenchOptions = { ...DEFAULT_BENCH_OPTIONS, ...input }
  if (!Number.isInteger(o.connections) || o.connections < 1 || o.connections > MAX_CONNECTIONS) {
    throw new LifelineError('LIFELINE_ERR_BENCH_OPTION', `--connections must be 1..${MAX_CONNECTIONS}`)
  }
  if (!(o.durationMs >= 0 && o.durationMs <= MAX_DURATION_MS)) {
    throw new LifelineError(
      'LIFELINE_ERR_BENCH_OPTION',
      `--duration must be at most ${MAX_DURATION_MS / 3_600_000}h`,
    )
  }
  if (!(o.topics >= 1) || !(o.rate >= 0)) {
    throw new LifelineError('LIFELINE_ERR_BENCH_OPTION', '--topics must be at least 1 and --rate at least 0')
  }
  const target = await resolveTarget(o.url, o.allowRemote)
  const topicInUrl = target.url.searchParams.getAll('topic')
  const topics =
    topicInUrl.length > 0
      ? [topicInUrl[0] as string]
      : Array.from({ length: o.topics }, (_, i) => `${o.topicPrefix}${i}`)
  let publishUrl = o.publishUrl
  if (o.rate > 0 && !o.publishCommand && !publishUrl) publishUrl = new URL('/publish', target.url).href
  if (publishUrl) await resolveTarget(publishUrl, o.allowRemote)
  const headerLines = Object.entries(o.headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')

  const started = performance.now()
  const server = o.serverPid ? new ProcWatcher(o.serverPid) : undefined
  const rssBefore = server?.now()?.rssBytes
  const fleet = new Fleet({
    host: target.host,
    port: target.port,
    hostHeader: target.url.host,
    path: target.url.pathname + target.url.search,
    appendTopic: topicInUrl.length === 0,
    topics,
    headers: headerLines,
    connectConcurrency: o.connectConcurrency,
    connectTimeoutMs: o.connectTimeoutMs,
    reconnect: o.reconnect,
    defaultRetryMs: o.defaultRetryMs,
    heartbeatTimeoutMs: o.heartbeatTimeoutMs,
    connections: o.connections,
    workers: o.workers,
    sourceAddresses: o.sourceAddresses,
  })
  const publisher = new Publisher({
    topics,
    rate: o.rate,
    payloadBytes: o.payloadBytes,
    url: publishUrl,
    command: o.publishCommand,
    headers: o.headers,
  })
  let phase: Progress['phase'] = 'connect'
  let phaseStart = started
  let phaseTotal = o.connectTimeoutMs
  const ticker = setInterval(() => {
    const now = performance.now()
    onProgress?.({
      phase,
      elapsedMs: now - started,
      phaseMs: now - phaseStart,
      phaseTotalMs: phaseTotal,
      counters: fleet.counters(),
      published: publisher.stats.sent,
    })
  }, 200)
  try {
    const allOpen = await fleet.waitOpen(o.connectTimeoutMs)
    const allOpenMs = allOpen ? Math.round(performance.now() - started) : null
    // Let the server settle (GC, lazily allocated buffers) before reading its idle memory.
    if (server) await sleep(1000)
    const rssOpen = server?.now()?.rssBytes
    const openNow = fleet.counters().open

    await publisher.warmUp(`${o.topicPrefix}warm-up`)
    await fleet.expectFromStart()
    phase = 'publish'
    phaseStart = performance.now()
    phaseTotal = o.durationMs
    const publishStart = performance.now()
    publisher.start()
    await sleep(o.durationMs)
    await publisher.stop()
    const publishMs = performance.now() - publishStart

    phase = 'drain'
    phaseStart = performance.now()
    phaseTotal = o.drainMs
    // Every open stream should get every event of its topic: wait until the count is reached or drain ends.
    const expected = expectedEvents(publisher.seq, topics, o.connections)
    const drainEnd = performance.now() + o.drainMs
    while (performance.now() < drainEnd && fleet.counters().events - fleet.counters().foreign < expected)
      await sleep(50)

    const final = await fleet.finish(publisher.seq)
    phase = 'done'
    const c = final.counters
    const { events, lost, unsettled, duplicates, reordered, resets, foreign, ...streams } = c
    const summary = server?.stop()
    return {
      machine: machine(),
      target: target.url.href,
      options: { ...o, headers: undefined } as unknown as BenchReport['options'],
      connect: { ...summarize(final.connectTime), opened: c.everOpen, allOpenMs },
      publish: {
        sent: publisher.stats.sent,
        acknowledged: publisher.stats.acknowledged,
        failed: publisher.stats.failed,
        skipped: publisher.stats.skipped,
        ackMs: summarize(publisher.stats.ackTime),
      },
      delivery: {
        received: events - foreign - resets,
        perSecond: publishMs > 0 ? Math.round(((events - foreign - resets) / publishMs) * 1000) : 0,
        expected,
        lost,
        unsettled,
        duplicates,
        reordered,
        resets,
        foreign,
        latencyMs: summarize(final.latency),
      },
      streams,
      server: summary && {
        ...summary,
        idleBytesPerStream:
          rssBefore !== undefined && rssOpen !== undefined && openNow > 0
            ? Math.round((rssOpen - rssBefore) / openNow)
            : null,
      },
      durationMs: Math.round(performance.now() - started),
    }
  } finally {
    clearInterval(ticker)
    server?.stop()
    await publisher.stop()
    await fleet.close()
  }
}

function expectedEvents(seq: Record<string, number>, topics: string[], connections: number): number {
  let total = 0
  for (let i = 0; i < topics.length; i++) {
    const subscribers = Math.floor(connections / topics.length) + (i < connections % topics.length ? 1 : 0)
    total += (seq[topics[i] as string] ?? 0) * subscribers
  }
  return total
}
