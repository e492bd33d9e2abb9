/**
 * The in-process publisher of bench/turns.bench.ts, shared by every Node peer (gin/main.go has the
 * same loop in Go). It runs inside the server process and publishes ONE event per event-loop turn,
 * the way an application publishing from a timer, a queue consumer or a request handler calls a
 * library:
 *
 * - `tick`: event i is due at start + i / rate. On schedule the loop sleeps until the next is due;
 *   when behind, it yields with `setImmediate` before the next publish (never two in one turn).
 * - `flood`: publish, yield with `setImmediate`, and while any stream's response holds more than
 *   BACKLOG_LIMIT bytes, wait 1 ms (so no server is measured piling up memory it cannot send).
 *
 * Both stop at `durationMs` (and `tick` after `count` events). Payloads are the bench's own
 * (`lb1 <seq> <sentAt> <padding>`, packages/lifeline-hub/src/loadtool/payload.ts): the receivers read the seq for loss,
 * duplicates and order, and the send time for latency.
 *
 * Routes a peer adds (bench/peers/README.md):
 *   POST /bench/turns  JSON TurnSpec; answers when the run is over with `{"published": n, "elapsedMs": t}`
 *   GET  /bench/streams  `{"streams": n}`: the streams the server still counts as open
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { formatPayload, makePadding, sharedNow } from '../../packages/lifeline-hub/src/loadtool/payload.ts'

/** A response holding more than this many unsent bytes pauses the flood (1 ms waits). */
export const BACKLOG_LIMIT = 64 * 1024

export type TurnSpec = {
  topic: string
  mode: 'tick' | 'flood'
  /** Events per second (`tick`). */
  rate: number
  /** Events to publish at most (`tick`). */
  count: number
  /** The run stops here whatever was published, ms. */
  durationMs: number
  /** Payload size, about. */
  bytes: number
}

export type TurnResult = { published: number; elapsedMs: number }

/** What a peer offers the loop: its own publish (the work it does per event) and a backlog probe. */
export type TurnPeer = {
  publish(topic: string, data: string): void
  /** True while any open stream's response holds more than BACKLOG_LIMIT bytes. */
  backedUp(): boolean
  /** Streams the server counts as open. */
  streams(): number
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

export async function runTurns(spec: TurnSpec, peer: TurnPeer): Promise<TurnResult> {
  const padding = makePadding(spec.bytes)
  const start = performance.now()
  const end = start + spec.durationMs
  const interval = spec.rate > 0 ? 1000 / spec.rate : 0
  let seq = 0
  for (;;) {
    const now = performance.now()
    if (now >= end) break
    if (spec.mode === 'tick') {
      if (seq >= spec.count) break
      const due = start + seq * interval
      if (now < due) {
        await sleep(due - now)
        continue
      }
    } else if (peer.backedUp()) {
      await sleep(1)
      continue
    }
    seq++
    peer.publish(spec.topic, formatPayload(seq, sharedNow(), padding))
    await nextTurn()
  }
  return { published: seq, elapsedMs: Math.round(performance.now() - start) }
}

export function parseTurnSpec(text: string): TurnSpec | undefined {
  let v: Partial<TurnSpec>
  try {
    v = JSON.parse(text) as Partial<TurnSpec>
  } catch {
    return undefined
  }
  if (typeof v.topic !== 'string' || (v.mode !== 'tick' && v.mode !== 'flood')) return undefined
  const num = (x: unknown, d: number) => (typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : d)
  return {
    topic: v.topic,
    mode: v.mode,
    rate: num(v.rate, 20),
    count: num(v.count, Number.POSITIVE_INFINITY),
    durationMs: Math.min(num(v.durationMs, 10_000), 120_000),
    bytes: num(v.bytes, 64),
  }
}

/** True when any of `responses` holds more than BACKLOG_LIMIT unsent bytes. */
export function anyBackedUp(responses: Iterable<ServerResponse>): boolean {
  for (const res of responses) if (res.writableLength > BACKLOG_LIMIT) return true
  return false
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** Serves the two bench routes on a node:http server; false when the request is not one of them. */
export async function serveTurnRoutes(
  req: IncomingMessage,
  res: ServerResponse,
  path: string | undefined,
  peer: TurnPeer,
): Promise<boolean> {
  if (req.method === 'GET' && path === '/bench/streams') {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ streams: peer.streams() }))
    return true
  }
  if (req.method !== 'POST' || path !== '/bench/turns') return false
  const spec = parseTurnSpec(await readBody(req))
  if (!spec) {
    res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad_request"}')
    return true
  }
  const result = await runTurns(spec, peer)
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result))
  return true
}
