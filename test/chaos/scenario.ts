/**
 * The chaos scenario, shared by the short form in `npm test` (chaos.test.ts) and the long form
 * (`npm run chaos:long`, chaos-long.ts):
 *
 * 1. a real hub process (`lifeline serve`) with a short heartbeat and write timeout;
 * 2. a ChaosProxy in front of it; `clients` raw SSE clients connect through the proxy, each to two of
 *    TOPICS topics, resume with Last-Event-ID after every drop and give up on a silent stream after
 *    CLIENT_HEARTBEAT_TIMEOUT_MS;
 * 3. one warm event per topic (so every client holds a last event id), then faults are switched on
 *    and `rate` events/s are published straight to the hub for `durationMs`; faults off, then every
 *    client must catch up;
 * 4. meanwhile /api/connections is polled: every connection the proxy killed (or whose client left
 *    a blackhole) must be gone from the hub within heartbeat + write timeout (+ REAP_SLACK_MS);
 * 5. all clients leave: the hub must drop to 0 streams and its V8 heap after a full garbage collection
 *    come back near its baseline (taken the same way after a warm-up round of as many clients, without
 *    faults, has come and gone), plus what the history holds for the events published in between.
 */
import { freePort, startPeer } from '../../bench/peers/start.ts'
import { sampleProc } from '../../packages/lifeline-hub/src/loadtool/proc.ts'
import { RawSseStream } from '../../packages/lifeline-hub/src/loadtool/raw-sse.ts'
import { EventStreamParser } from '../../packages/lifeline-sse/src/protocol/parse.ts'
import { ChaosProxy, type DeadConnection } from '../helpers/chaos-proxy.ts'
import { heapAfterGc, inspectorNodeOptions } from './heap-probe.ts'

export const HUB_HEARTBEAT_MS = 1000
export const HUB_WRITE_TIMEOUT_MS = 2000
/** Poll interval of /api/connections and scheduling delay on a loaded 2-core machine, in ms. */
export const REAP_SLACK_MS = 3000
/** A client that received no byte (not even a heartbeat) for this long reconnects. */
const CLIENT_HEARTBEAT_TIMEOUT_MS = 3 * HUB_HEARTBEAT_MS
/** An attempt without a response head for this long is abandoned (generous: a loaded hub is slow to answer). */
const CLIENT_CONNECT_TIMEOUT_MS = 10_000
const TOPICS = 4
const POLL_MS = 500
/** Publish requests in flight at most. */
const PUBLISH_LANES = 8
/**
 * V8 heap (after a full collection) the hub may keep above its baseline once every client has left,
 * besides the history, in bytes. A stream kept after it closed holds its request, response and socket
 * state (~7 KB each in this scenario, measured by retaining every /events response in the hub): the
 * short run's ~150 streams then end 1.1 MB up and fail; clean runs end ~0.3 MB up besides the history.
 */
export const HEAP_SLACK_BYTES = 1024 * 1024
/** Heap one published event holds in the history (entry, id, encoded frame; ~350 measured), in bytes. */
export const HISTORY_BYTES_PER_EVENT = 400

export type ChaosParams = {
  clients: number
  durationMs: number
  rate: number
  seed: number
  /** More `lifeline serve` arguments (e.g. `--workers 2`: the heap probe then reads the primary, which
   *  holds the history; the workers' heaps are not probed). */
  hubArgs?: string[]
  log?: (s: string) => void
}

type Received = { id: string; type: string }

class Client {
  readonly index: number
  readonly topics: string[]
  readonly received: Received[] = []
  attempts = 0
  open = false
  closed = false
  lastByteAt = 0
  retryMs = 500
  raw: RawSseStream | undefined
  parser: EventStreamParser
  #port: number
  #timer: NodeJS.Timeout | undefined

  constructor(index: number, port: number) {
    this.index = index
    this.#port = port
    this.topics = [`chaos-${index % TOPICS}`, `chaos-${(index + 1) % TOPICS}`]
    this.parser = new EventStreamParser({
      onEvent: (e) => this.received.push({ id: e.lastEventId, type: e.type }),
      onRetry: (ms) => {
        this.retryMs = ms
      },
    })
  }

  get lastEventId(): string {
    return this.parser.lastEventId
  }

  connect(): void {
    if (this.closed) return
    this.attempts++
    this.lastByteAt = performance.now()
    this.parser.reset()
    const last = this.parser.lastEventId
    const tag = `chaos-c${this.index}-a${this.attempts}`
    this.raw = new RawSseStream(
      {
        host: '127.0.0.1',
        port: this.#port,
        hostHeader: `127.0.0.1:${this.#port}`,
        path: `/events?${this.topics.map((t) => `topic=${t}`).join('&')}`,
        headers: `User-Agent: ${tag}\r\n${last === '' ? '' : `Last-Event-ID: ${last}\r\n`}`,
      },
      {
        onHead: (status) => {
          if (status !== 200) {
            this.raw?.close()
            return
          }
          this.open = true
          this.lastByteAt = performance.now()
        },
        onBody: (chunk) => {
          this.lastByteAt = performance.now()
          this.parser.push(chunk)
        },
        onClose: () => {
          this.open = false
          this.raw = undefined
          if (this.closed) return
          // The server's retry (already jittered by the hub) plus a little of our own.
          this.#timer = setTimeout(() => this.connect(), this.retryMs * (0.8 + 0.4 * Math.random()))
        },
      },
    )
  }

  close(): void {
    this.closed = true
    clearTimeout(this.#timer)
    this.raw?.close()
  }
}

export type ChaosResult = {
  failures: string[]
  published: number
  faults: Record<string, number>
  reconnects: number
  resets: number
  reapDelaysMs: number[]
  rssBaselineMB: number
  /** V8 heap in use after a forced full GC, before and after: tells a leak from memory the allocator keeps. */
  heapBaselineMB: number
  heapAfterMB: number
  rssAfterMB: number
  seed: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    if (await check()) return true
    await sleep(100)
  }
  return check()
}

export async function runChaos(params: ChaosParams): Promise<ChaosResult> {
  const log = params.log ?? (() => {})
  const failures: string[] = []
  // The hub listens for the inspector (NODE_OPTIONS is read when the child spawns, which startPeer
  // does synchronously when given a port), so the suite can collect its garbage before reading its heap.
  const [hubPort, inspectorPort] = [await freePort(), await freePort()]
  const nodeOptions = process.env.NODE_OPTIONS
  process.env.NODE_OPTIONS = inspectorNodeOptions(inspectorPort, nodeOptions)
  const starting = startPeer('lifeline', {
    port: hubPort,
    heartbeatMs: HUB_HEARTBEAT_MS,
    extraArgs: [
      '--write-timeout',
      `${HUB_WRITE_TIMEOUT_MS}ms`,
      '--retry',
      '500ms',
      '--history-size',
      '100000',
      ...(params.hubArgs ?? []),
    ],
  })
  if (nodeOptions === undefined) delete process.env.NODE_OPTIONS
  else process.env.NODE_OPTIONS = nodeOptions
  const hub = await starting
  const proxy = new ChaosProxy({ targetPort: hub.port, seed: params.seed, faultChance: 0.015, tickMs: 250 })
  const clients: Client[] = []
  const polls: { at: number; tags: Set<string> }[] = []
  let polling = true
  // One sweep gives up on silent streams (a blackhole, a long stall) for every client, and on
  // attempts whose response never came (a fault can hit a connection before the hub answered).
  const watchdog = setInterval(() => {
    const now = performance.now()
    for (const c of clients) {
      if (!c.raw) continue
      const limit = c.open ? CLIENT_HEARTBEAT_TIMEOUT_MS : CLIENT_CONNECT_TIMEOUT_MS
      if (now - c.lastByteAt > limit) c.raw.close()
    }
  }, 250)
  try {
    const port = await proxy.listen()
    const publishOnce = async (topic: string, data: string): Promise<string> => {
      const res = await fetch(`${hub.url}/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ topic, data }),
      })
      const body = (await res.json()) as { id?: string }
      if (res.status !== 201 || typeof body.id !== 'string') throw new Error(`publish answered ${res.status}`)
      return body.id
    }
    // A warm-up round with as many clients (no faults) brings the hub to its working size (JIT, heap,
    // buffers); the baseline is its RSS once they have left, so a leak shows against it.
    const warm: Client[] = []
    for (let i = 0; i < params.clients; i++) {
      const c = new Client(i, port)
      warm.push(c)
      c.connect()
      if (i % 50 === 49) await sleep(20)
    }
    if (!(await until(() => warm.every((c) => c.open), 30_000)))
      throw new Error('warm-up clients did not open')
    for (let t = 0; t < TOPICS; t++) await publishOnce(`chaos-${t}`, 'warm-up')
    await until(() => warm.every((c) => c.received.length >= 2), 20_000)
    for (const c of warm) c.close()
    await until(async () => (await connectionCount(hub.url)) === 0, 15_000)
    await sleep(1000)
    const rssBaseline = sampleProc(hub.pid)?.rssBytes ?? 0
    const heapBaseline = await heapAfterGc(inspectorPort)
    const began = performance.now()

    for (let i = 0; i < params.clients; i++) {
      const c = new Client(i, port)
      clients.push(c)
      c.connect()
      if (i % 50 === 49) await sleep(20)
    }
    if (!(await until(() => clients.every((c) => c.open), 30_000))) {
      throw new Error(`only ${clients.filter((c) => c.open).length}/${params.clients} clients opened`)
    }

    // Publish straight to the hub (not through the proxy), one request at a time per topic. The hub's
    // memory ids are `<epoch>-<seq>` with seq +1 per event (docs/design.md §4), which gives the total order.
    const published: { id: string; topic: string; seq: number }[] = []
    const publish = async (topic: string, data: string) => {
      const id = await publishOnce(topic, data)
      published.push({ id, topic, seq: Number(id.slice(id.lastIndexOf('-') + 1)) })
    }
    for (let t = 0; t < TOPICS; t++) await publish(`chaos-${t}`, 'warm')
    if (!(await until(() => clients.every((c) => c.received.length >= 2), 20_000))) {
      throw new Error('clients did not receive the warm events')
    }

    const poller = (async () => {
      while (polling) {
        const at = performance.now()
        try {
          const res = await fetch(`${hub.url}/api/connections`)
          const body = (await res.json()) as { connections: { userAgent?: string }[] }
          polls.push({ at, tags: new Set(body.connections.map((c) => c.userAgent ?? '')) })
        } catch {
          // The hub is busy: the next poll counts.
        }
        await sleep(POLL_MS)
      }
    })()

    log(`hub up, ${params.clients} clients open and warm in ${Math.round(performance.now() - began)} ms`)
    proxy.setEnabled(true)
    const start = performance.now()
    // PUBLISH_LANES requests in flight at most; an event is skipped when its time has passed by more
    // than a second (a starved machine), so the publishing phase ends on time.
    let next = 0
    let skipped = 0
    await Promise.all(
      Array.from({ length: PUBLISH_LANES }, async () => {
        for (;;) {
          const n = next++
          const due = start + (n * 1000) / params.rate
          if (due - start >= params.durationMs) return
          const wait = due - performance.now()
          if (wait > 0) await sleep(wait)
          else if (wait < -1000) {
            skipped++
            continue
          }
          await publish(`chaos-${n % TOPICS}`, `event ${n}`)
        }
      }),
    )
    log(`publishing took ${Math.round(performance.now() - start)} ms, ${skipped} events skipped`)
    published.sort((a, b) => a.seq - b.seq)
    proxy.setEnabled(false)
    log(`published ${published.length} events; faults ${JSON.stringify(proxy.counts)}`)

    // Every client catches up: its last event is the last event published on its topics.
    const lastFor = (c: Client) => {
      for (let i = published.length - 1; i >= 0; i--) {
        if (c.topics.includes((published[i] as { topic: string }).topic))
          return (published[i] as { id: string }).id
      }
      return ''
    }
    const caughtUp = await until(() => clients.every((c) => c.lastEventId === lastFor(c)), 30_000)
    if (!caughtUp) {
      const behind = clients.filter((c) => c.lastEventId !== lastFor(c))
      failures.push(
        `${behind.length} clients did not catch up, e.g. client ${behind[0]?.index} (open ${behind[0]?.open})`,
      )
    }

    log(`caught up ${Math.round(performance.now() - start)} ms after publishing began`)
    // Give the last dead connections their full reaping window before the poller stops.
    const lastDeath = Math.max(0, ...proxy.dead.map((d) => d.at))
    const window = lastDeath + HUB_HEARTBEAT_MS + HUB_WRITE_TIMEOUT_MS + REAP_SLACK_MS - performance.now()
    if (window > 0) await sleep(window)
    polling = false
    await poller

    // (1) Each client's events are its topics' events, in order, no loss and no duplicate, except
    // where an explicit lifeline:reset says what was skipped.
    const order = new Map(published.map((p, i) => [p.id, i]))
    let resets = 0
    for (const c of clients) {
      const expected = published.filter((p) => c.topics.includes(p.topic)).map((p) => p.id)
      let cursor = 0
      let afterReset = false
      for (const r of c.received) {
        if (r.type === 'lifeline:reset') {
          resets++
          afterReset = true
          continue
        }
        if (afterReset) {
          const at = expected.indexOf(r.id, cursor)
          if (at === -1) {
            failures.push(`client ${c.index}: after a reset got ${r.id}, not a later event of its topics`)
            break
          }
          cursor = at
          afterReset = false
        }
        if (expected[cursor] !== r.id) {
          const got = order.get(r.id)
          failures.push(
            `client ${c.index}: expected ${expected[cursor]} (#${cursor}) but got ${r.id} (published #${got}): ` +
              `${got === undefined ? 'unknown' : got < (order.get(expected[cursor] ?? '') ?? 0) ? 'duplicate or out of order' : 'loss'}`,
          )
          break
        }
        cursor++
      }
      if (cursor !== expected.length && !failures.some((f) => f.startsWith(`client ${c.index}:`))) {
        failures.push(`client ${c.index}: received ${cursor} of ${expected.length} events`)
      }
    }

    // (2) Every dead connection was reaped within heartbeat + write timeout.
    const bound = HUB_HEARTBEAT_MS + HUB_WRITE_TIMEOUT_MS + REAP_SLACK_MS
    const reapDelaysMs: number[] = []
    for (const d of proxy.dead as DeadConnection[]) {
      const gone = polls.find((p) => p.at > d.at && !p.tags.has(d.tag))
      const delay = gone ? gone.at - d.at : Number.POSITIVE_INFINITY
      reapDelaysMs.push(Math.round(delay))
      if (delay > bound)
        failures.push(
          `${d.tag} (${d.fault}) was still open ${Math.round(delay)} ms later (bound ${bound} ms)`,
        )
    }

    // (3) Everyone leaves: the hub holds no stream and its memory comes back near the baseline.
    for (const c of clients) c.close()
    const drained = await until(async () => (await connectionCount(hub.url)) === 0, 15_000)
    if (!drained) failures.push('streams left open in the hub after every client left')
    await sleep(1000)
    const rssAfter = sampleProc(hub.pid)?.rssBytes ?? 0
    const heapAfter = await heapAfterGc(inspectorPort)
    // RSS is reported, not asserted: the allocator keeps pages it once needed (on the long run about
    // 60 MB with the heap back at its baseline), so it cannot tell a leak from a high-water mark.
    const heapBound = heapBaseline + HEAP_SLACK_BYTES + HISTORY_BYTES_PER_EVENT * published.length
    if (heapAfter > heapBound) {
      failures.push(
        `hub heap after GC ${mb(heapAfter)} MB after the run vs ${mb(heapBaseline)} MB baseline (bound ${mb(heapBound)} MB with ${published.length} events in history)`,
      )
    }

    return {
      failures,
      published: published.length,
      faults: { ...proxy.counts },
      reconnects: clients.reduce((sum, c) => sum + c.attempts - 1, 0),
      resets,
      reapDelaysMs,
      rssBaselineMB: mb(rssBaseline),
      heapBaselineMB: mb(heapBaseline),
      heapAfterMB: mb(heapAfter),
      rssAfterMB: mb(rssAfter),
      seed: params.seed,
    }
  } finally {
    clearInterval(watchdog)
    polling = false
    for (const c of clients) c.close()
    await proxy.close()
    await hub.stop()
  }
}

async function connectionCount(url: string): Promise<number> {
  const res = await fetch(`${url}/api/connections`)
  return ((await res.json()) as { count: number }).count
}

function mb(bytes: number): number {
  return Math.round((bytes / 1048576) * 10) / 10
}
