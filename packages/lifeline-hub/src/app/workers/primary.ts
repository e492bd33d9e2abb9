/**
 * `lifeline serve --workers N`: the primary process. It serves no HTTP itself; it
 *
 * - owns the history (memory ring or `--history-file`) and is its sequencer: the one place that
 *   assigns ids, feeding every worker in id order (server/history/sequencer.ts). With `--redis` it
 *   holds no history: every worker is a cluster node of its own;
 * - forks N workers that all listen on the same port (SO_REUSEPORT: the kernel spreads connections);
 * - counts every worker's streams for `--max-connections` / `--max-connections-per-ip` (leases.ts);
 * - relays what one worker asks of all (a `/metrics` scrape, `/api/connections`, dashboard totals);
 * - restarts a worker that dies (its clients reconnect to the others and resume from the one history);
 * - on SIGTERM/SIGINT tells every worker to drain, waits for them, closes the history, exits 0.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { MemoryHistory, type SequencedStore, Sequencer } from 'lifeline-sse/server'
import type { ServeConfig } from '../config-options.ts'
import { createStreamStore } from '../durable/stream-store-config.ts'
import { openHistory } from '../history-store.ts'
import type { Logger } from '../logging.ts'
import { Channel } from './channel.ts'
import type { ControlMessage, GatherKind, WorkerSummary } from './control.ts'
import { StreamLeases } from './leases.ts'
import { StreamHost } from './stream-host.ts'

/** Same extension as this file: `.ts` from source, `.js` once built. */
const WORKER_ENTRY = new URL(
  `./worker-entry${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`,
  import.meta.url,
)
/** How long a gather waits for a worker's part; a worker that does not answer is left out. */
const GATHER_TIMEOUT_MS = 3_000
/** Period of the peer summaries relayed to every worker (dashboard totals), ms. */
const SUMMARY_PERIOD_MS = 1_000
/** Restart backoff after a crash, ms: first delay, cap (doubles per crash within RESTART_WINDOW_MS). */
const RESTART_MIN_MS = 100
const RESTART_MAX_MS = 5_000
const RESTART_WINDOW_MS = 30_000
/** Past shutdownTimeout plus this, workers that have not exited are killed (exit 1). */
const EXIT_GRACE_MS = 5_000

/** Platforms where SO_REUSEPORT spreads connections over the sockets bound to one port. */
const REUSE_PORT_PLATFORMS: ReadonlySet<string> = new Set(['linux', 'freebsd', 'sunos', 'aix'])

/** `--workers 0`: one per core the process may use. */
export function workerCount(config: ServeConfig): number {
  return config.workers === 0 ? availableParallelism() : config.workers
}

/** Why `--workers` cannot run here, or undefined. */
export function workersUnsupported(): string | undefined {
  if (!REUSE_PORT_PLATFORMS.has(process.platform)) {
    return `--workers needs SO_REUSEPORT load balancing (Linux, FreeBSD), which ${process.platform} does not offer: run one process, or several hubs with --redis behind a load balancer`
  }
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
  if (major < 22 || (major === 22 && minor < 12)) {
    return `--workers needs Node.js >= 22.12 (listen reusePort); this is ${process.versions.node}`
  }
  return undefined
}

interface Worker {
  readonly index: number
  readonly child: ChildProcess
  readonly channel: Channel
  readonly detach: () => void
  listening: boolean
  summary: WorkerSummary | undefined
}

interface Gather {
  readonly from: Worker
  readonly r: number
  readonly parts: unknown[]
  readonly waiting: Set<number>
  readonly timer: NodeJS.Timeout
}

export interface Primary {
  /** The base URL every worker serves, once all listen. */
  readonly url: string
  readonly workers: number
  /** Drains every worker, then closes the history. */
  stop(): Promise<void>
}

/** Starts the workers; resolves once every one listens (rejects with a one-line reason otherwise). */
export async function startPrimary(config: ServeConfig, logger: Logger): Promise<Primary> {
  const count = workerCount(config)
  const store = config.redis ? undefined : await openStore(config, logger)
  const sequencer = store ? new Sequencer(store) : undefined
  // Finite streams live once too, in the store the history is in (remote-streams.ts).
  const streams = store ? new StreamHost(createStreamStore(config, store)) : undefined
  const leases = new StreamLeases({
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    retryMs: config.retry,
  })
  const workers = new Map<number, Worker>()
  const gathers = new Map<number, Gather>()
  let nextGather = 1
  let port = config.port
  let url = ''
  let stopping: Promise<void> | undefined
  const crashes = new Map<number, number[]>()

  const finishGather = (id: number): void => {
    const g = gathers.get(id)
    if (g === undefined) return
    gathers.delete(id)
    clearTimeout(g.timer)
    g.from.channel.send({ t: 'gathered', r: g.r, parts: g.parts })
  }

  const gather = (from: Worker, r: number, what: GatherKind): void => {
    const id = nextGather++
    const live = [...workers.values()].filter((w) => w.listening)
    const g: Gather = {
      from,
      r,
      parts: [],
      waiting: new Set(live.map((w) => w.index)),
      timer: setTimeout(() => finishGather(id), GATHER_TIMEOUT_MS),
    }
    gathers.set(id, g)
    for (const w of live) w.channel.send({ t: 'collect', r: id, what })
    if (g.waiting.size === 0) finishGather(id)
  }

  const onControl = (w: Worker, m: ControlMessage): void => {
    if (streams?.serve(w.index, w.channel, m)) return
    switch (m.t) {
      case 'acquire':
        w.channel.send({ t: 'acquired', r: m.r, rejection: leases.acquire(w.index, m.address) })
        return
      case 'release':
        leases.release(w.index, m.address)
        return
      case 'gather':
        gather(w, m.r, m.what)
        return
      case 'collected': {
        const g = gathers.get(m.r)
        if (g === undefined || !g.waiting.delete(w.index)) return
        g.parts.push(m.part)
        if (g.waiting.size === 0) finishGather(m.r)
        return
      }
      case 'summary':
        w.summary = m.summary
        return
      default:
        return
    }
  }

  const spawn = (index: number): Promise<Worker> =>
    new Promise((resolve, reject) => {
      const child = fork(WORKER_ENTRY, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      const channel = new Channel(child)
      const detach = sequencer ? sequencer.attach(channel.historyLink()) : () => {}
      const w: Worker = { index, child, channel, detach, listening: false, summary: undefined }
      workers.set(index, w)
      channel.onControl((m) => {
        if (m.t === 'listening' && !w.listening) {
          w.listening = true
          port = m.port
          url = m.url
          resolve(w)
          return
        }
        onControl(w, m)
      })
      child.once('exit', (code, signal) => {
        channel.close()
        detach()
        leases.dropWorker(index)
        streams?.dropWorker(index)
        for (const [id, g] of gathers) if (g.waiting.delete(index) && g.waiting.size === 0) finishGather(id)
        if (workers.get(index) === w) workers.delete(index)
        if (!w.listening) {
          reject(new Error(`worker ${index} exited (${signal ?? code}) before it listened`))
          return
        }
        if (stopping) return
        logger.error({ worker: index, code, signal }, 'worker exited: restarting it')
        restart(index)
      })
      channel.send({ t: 'start', index, config: { ...config, port }, sequenced: sequencer !== undefined })
    })

  const restart = (index: number): void => {
    const now = Date.now()
    const recent = (crashes.get(index) ?? []).filter((t) => now - t < RESTART_WINDOW_MS)
    recent.push(now)
    crashes.set(index, recent)
    const delay = Math.min(RESTART_MIN_MS * 2 ** (recent.length - 1), RESTART_MAX_MS)
    // Not unref'd: when every worker died at once, this timer is what keeps the primary alive.
    setTimeout(() => {
      if (stopping) return
      spawn(index).then(
        () => logger.info({ worker: index }, 'worker restarted'),
        (err: unknown) => {
          logger.error({ worker: index, err }, 'worker restart failed')
          if (!stopping) restart(index)
        },
      )
    }, delay)
  }

  const relay = setInterval(() => {
    const summaries: [number, WorkerSummary][] = []
    for (const w of workers.values()) if (w.summary) summaries.push([w.index, w.summary])
    for (const w of workers.values()) if (w.listening) w.channel.send({ t: 'peers', summaries })
  }, SUMMARY_PERIOD_MS)
  relay.unref()

  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      clearInterval(relay)
      const exits = [...workers.values()].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve()
            w.child.once('exit', () => resolve())
            w.channel.send({ t: 'drain' })
          }),
      )
      const hard = setTimeout(() => {
        for (const w of workers.values()) w.child.kill('SIGKILL')
      }, config.shutdownTimeout + EXIT_GRACE_MS)
      await Promise.all(exits)
      clearTimeout(hard)
      sequencer?.close()
      await streams?.close()
      await store?.close()
    })())

  try {
    // The first worker binds first: with --port 0 its port is the one the others join.
    await spawn(1)
    await Promise.all(Array.from({ length: count - 1 }, (_, i) => spawn(i + 2)))
  } catch (err) {
    await stop()
    throw err
  }
  return {
    get url() {
      return url
    },
    workers: count,
    stop,
  }
}

async function openStore(config: ServeConfig, logger: Logger): Promise<SequencedStore> {
  const file = await openHistory(config, logger)
  if (file !== undefined) return file as SequencedStore
  return new MemoryHistory({
    maxEvents: config.historySize,
    maxBytes: config.historyMaxBytes,
    ttlMs: config.historyTtl,
    onError: (err) => logger.error({ err }, 'history error'),
  })
}
