/**
 * Reconnect storm: N clients hold streams, the server restarts, every client reconnects at once.
 * Measures the time until all streams are open again (from the stop, and from the new server
 * listening), streams refused (connection refused, 429/503) during the storm, the /healthz latency
 * from a separate client probing every 50 ms throughout, and, for Lifeline, the peak event-loop lag
 * from its /metrics. Goal for Lifeline: 10k back within 10 s, /healthz under 100 ms throughout.
 *
 * Run:   npx node bench/storm.bench.ts [--connections 10000] [--server lifeline] [--admin] [--json]
 *        (--server is any name of bench/peers: lifeline, node-http, better-sse, hono, gin)
 *        --admin (lifeline): start the hub with --admin-port and probe /healthz (and read /metrics)
 *        on that listener, apart from the port the storm hits.
 * Clients reconnect after the server's `retry:` with +-20% jitter (1 s when the server sent none).
 */
import { parseArgs } from 'node:util'
import { Fleet, sleep } from '../packages/lifeline-hub/src/loadtool/fleet.ts'
import { Histogram, summarize } from '../packages/lifeline-hub/src/loadtool/histogram.ts'
import { describeMachine, machine } from '../packages/lifeline-hub/src/loadtool/machine.ts'
import { freePort, PEER_NAMES, type PeerName, startPeer } from './peers/start.ts'

export type StormResult = {
  server: PeerName
  connections: number
  /** All streams open again, ms after the old server was stopped (null: not within the timeout). */
  recoveredMs: number | null
  /** The same, from the moment the new server answered /healthz. */
  recoveredAfterListenMs: number | null
  restartMs: number
  refused: number
  rejected: number
  healthz: ReturnType<typeof summarize> & { failures: number }
  /** Where /healthz was probed: the stream port, or the admin listener (`--admin`). */
  probed: 'stream port' | 'admin listener'
  /** Lifeline only: the largest event-loop lag its /metrics reported during the storm, ms. */
  eventLoopLagMaxMs: number | null
}

const PROBE_MS = 50
const HEALTHZ_TIMEOUT_MS = 5000

/** Lifeline's flags for the storm: a short retry hint (jittered by the hub) and a quick shutdown. */
const LIFELINE_ARGS = ['--retry', '1s', '--shutdown-timeout', '2s']

export async function runStorm(
  server: PeerName,
  connections: number,
  options: { timeoutMs?: number; log?: (s: string) => void; admin?: boolean } = {},
): Promise<StormResult> {
  const log = options.log ?? (() => {})
  const timeoutMs = options.timeoutMs ?? 60_000
  const adminPort = options.admin && server === 'lifeline' ? await freePort() : undefined
  const extraArgs =
    server === 'lifeline'
      ? [...LIFELINE_ARGS, ...(adminPort === undefined ? [] : ['--admin-port', String(adminPort)])]
      : []
  let peer = await startPeer(server, { extraArgs })
  const port = peer.port
  // The probe's (and the lag reader's) base: the admin listener when there is one.
  const opsUrl = adminPort === undefined ? `http://127.0.0.1:${port}` : `http://127.0.0.1:${adminPort}`
  const fleet = new Fleet({
    host: '127.0.0.1',
    port,
    hostHeader: `127.0.0.1:${port}`,
    path: '/events',
    appendTopic: true,
    topics: ['storm'],
    headers: '',
    connectConcurrency: 512,
    connectTimeoutMs: 30_000,
    reconnect: true,
    defaultRetryMs: 1000,
    heartbeatTimeoutMs: 0,
    connections,
  })
  try {
    if (!(await fleet.waitOpen(120_000)))
      throw new Error(`${server}: only ${fleet.counters().open}/${connections} opened`)
    log(`${server}: ${connections} streams open`)
    const before = fleet.counters()

    // Probe /healthz throughout, on a fresh connection each time (as a load balancer would).
    const healthz = new Histogram()
    let healthzFailures = 0
    let probing = true
    let probeFrom = Number.POSITIVE_INFINITY
    const probe = (async () => {
      while (probing) {
        const t0 = performance.now()
        try {
          const res = await fetch(`${opsUrl}/healthz`, {
            signal: AbortSignal.timeout(HEALTHZ_TIMEOUT_MS),
            headers: { connection: 'close' },
          })
          await res.body?.cancel()
          if (t0 >= probeFrom) {
            if (res.ok) healthz.record((performance.now() - t0) * 1000)
            else healthzFailures++
          }
        } catch {
          if (t0 >= probeFrom) healthzFailures++
        }
        const left = PROBE_MS - (performance.now() - t0)
        if (left > 0) await sleep(left)
      }
    })()

    const stopAt = performance.now()
    await peer.stop()
    log(`${server}: stopped in ${Math.round(performance.now() - stopAt)} ms`)
    peer = await startPeer(server, { port, extraArgs })
    const listenAt = performance.now()
    probeFrom = listenAt
    log(`${server}: restarted in ${Math.round(listenAt - stopAt)} ms`)

    let lagMaxMs: number | null = null
    let recoveredAt: number | null = null
    const deadline = listenAt + timeoutMs
    let lastMetrics = 0
    while (performance.now() < deadline) {
      if (fleet.counters().open >= connections) {
        recoveredAt = performance.now()
        break
      }
      if (server === 'lifeline' && performance.now() - lastMetrics > 500) {
        lastMetrics = performance.now()
        const lag = await eventLoopLagMax(opsUrl)
        if (lag !== null) lagMaxMs = Math.max(lagMaxMs ?? 0, lag)
      }
      await sleep(20)
    }
    // Keep probing a little after recovery: the storm's tail (slow handshakes) still loads the server.
    await sleep(1000)
    if (server === 'lifeline') {
      const lag = await eventLoopLagMax(opsUrl)
      if (lag !== null) lagMaxMs = Math.max(lagMaxMs ?? 0, lag)
    }
    probing = false
    await probe
    const after = fleet.counters()
    return {
      server,
      connections,
      recoveredMs: recoveredAt === null ? null : Math.round(recoveredAt - stopAt),
      recoveredAfterListenMs: recoveredAt === null ? null : Math.round(recoveredAt - listenAt),
      restartMs: Math.round(listenAt - stopAt),
      refused: after.refused - before.refused,
      rejected: after.rejected - before.rejected,
      healthz: { ...summarize(healthz), failures: healthzFailures },
      probed: adminPort === undefined ? 'stream port' : 'admin listener',
      eventLoopLagMaxMs: lagMaxMs === null ? null : Math.round(lagMaxMs * 10) / 10,
    }
  } finally {
    await fleet.close()
    await peer.stop()
  }
}

/** `nodejs_eventloop_lag_max_seconds` from prom-client's default metrics, in ms (null if absent). */
async function eventLoopLagMax(url: string): Promise<number | null> {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(HEALTHZ_TIMEOUT_MS) })
    const text = await res.text()
    const match = /^nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? ([0-9.e+-]+)$/m.exec(text)
    return match ? Number(match[1]) * 1000 : null
  } catch {
    return null
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '10000' },
      server: { type: 'string', default: 'lifeline' },
      json: { type: 'boolean', default: false },
      admin: { type: 'boolean', default: false },
    },
  })
  const server = values.server as PeerName
  if (!(PEER_NAMES as readonly string[]).includes(server))
    throw new Error(`--server must be one of ${PEER_NAMES.join(', ')}`)
  const connections = Number(values.connections)
  console.error(`storm: ${describeMachine()}; ${connections} streams, server ${server}`)
  const result = await runStorm(server, connections, {
    log: (s) => console.error(s),
    admin: values.admin === true,
  })
  if (values.json) console.log(JSON.stringify({ machine: machine(), ...result }, null, 2))
  else {
    const h = result.healthz
    console.log(
      `${server}: ${connections} streams back ${result.recoveredMs ?? 'never'} ms after the stop ` +
        `(${result.recoveredAfterListenMs ?? '-'} ms after the new server listened; restart took ${result.restartMs} ms); ` +
        `refused ${result.refused}, rejected ${result.rejected}; /healthz (${result.probed}) p50 ${h.p50} ms, p99 ${h.p99} ms, max ${h.max} ms, ` +
        `${h.failures} failed; event-loop lag max ${result.eventLoopLagMaxMs ?? '-'} ms`,
    )
  }
}
