/**
 * What every peer SSE server in bench/peers shares: its command line, the shape of `POST /publish`,
 * and the constants of the uniform interface the bench relies on.
 *
 * Interface (every peer, Node or Go):
 *   - started as `node bench/peers/<name>.ts --port <p> [--heartbeat <ms>]`, prints `listening <port>` when ready;
 *   - `GET /events?topic=T[&topic=U]`: an SSE stream; first bytes are `retry:` and a comment, a `: ping`
 *     comment every heartbeat (15 s by default), every event carries an `id:` (a counter per server);
 *   - `POST /publish` with JSON `{"topic": "T" | ["T", ...], "data": "..."}` answers `201 {"id": "..."}`;
 *   - `GET /healthz` answers 200.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { serveTurnRoutes, type TurnPeer } from './turns.ts'

/** Reconnection hint sent on every stream, in ms (the browsers' default is 3 s as well). */
export const RETRY_MS = 3000
/** Default interval of the `: ping` comment, in ms. */
export const DEFAULT_HEARTBEAT_MS = 15_000
/** Largest publish body a peer reads, in bytes. */
export const MAX_BODY = 1 << 20

export type PeerArgs = { port: number; heartbeatMs: number; host: string }

export function parsePeerArgs(argv: readonly string[] = process.argv.slice(2)): PeerArgs {
  const args: PeerArgs = { port: 0, heartbeatMs: DEFAULT_HEARTBEAT_MS, host: '127.0.0.1' }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = argv[i + 1]
    if (flag === '--port' && value !== undefined) {
      args.port = Number(value)
      i++
    } else if (flag === '--heartbeat' && value !== undefined) {
      args.heartbeatMs = Number(value)
      i++
    } else if (flag === '--host' && value !== undefined) {
      args.host = value
      i++
    }
  }
  return args
}

/** The topics of `GET /events?topic=T&topic=U`. */
export function topicsOf(url: string | undefined): string[] {
  const query = new URL(url ?? '/', 'http://peer').searchParams
  return query.getAll('topic')
}

export type PublishBody = { topics: string[]; data: string }

/** Reads and checks a `POST /publish` body; returns undefined when it is malformed. */
export async function readPublish(req: IncomingMessage): Promise<PublishBody | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) return undefined
    chunks.push(chunk as Buffer)
  }
  return parsePublish(Buffer.concat(chunks).toString('utf8'))
}

export function parsePublish(text: string): PublishBody | undefined {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof body !== 'object' || body === null) return undefined
  const { topic, data } = body as { topic?: unknown; data?: unknown }
  const topics = typeof topic === 'string' ? [topic] : Array.isArray(topic) ? topic : undefined
  if (!topics || topics.length === 0 || !topics.every((t) => typeof t === 'string')) return undefined
  return { topics: topics as string[], data: typeof data === 'string' ? data : JSON.stringify(data ?? null) }
}

/** Prints the readiness line the bench waits for. */
export function announce(port: number): void {
  process.stdout.write(`listening ${port}\n`)
}

/** Exit cleanly on the signals the bench sends. */
export function exitOnSignals(close: () => void): void {
  const stop = () => {
    close()
    process.exit(0)
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

/** What a node:http peer brings; `serveNodePeer` adds the routes every peer shares around it. */
export type NodePeer = {
  /** `GET /events`: open the stream on `res`. */
  events(req: IncomingMessage, res: ServerResponse): void | Promise<void>
  /** `POST /publish` and the in-process publisher: the peer's own fan-out; resolves with the id. */
  publish(topics: readonly string[], data: string): string | Promise<string>
  /** The in-process publisher's probes (bench/peers/turns.ts). */
  backedUp(): boolean
  streams(): number
}

/** The uniform interface on a node:http server: /events, /publish, /bench/turns, /bench/streams, /healthz. */
export function serveNodePeer(args: PeerArgs, peer: NodePeer): void {
  const turns: TurnPeer = {
    publish: (topic, data) => {
      void Promise.resolve(peer.publish([topic], data)).catch(() => {})
    },
    backedUp: () => peer.backedUp(),
    streams: () => peer.streams(),
  }
  const server = createServer(async (req, res) => {
    const path = req.url?.split('?')[0]
    if (req.method === 'GET' && path === '/events') return peer.events(req, res)
    if (req.method === 'POST' && path === '/publish') {
      const body = await readPublish(req)
      if (!body) {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad_request"}')
        return
      }
      const id = await peer.publish(body.topics, body.data)
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id }))
      return
    }
    if (await serveTurnRoutes(req, res, path, turns)) return
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
      return
    }
    res.writeHead(404).end()
  })
  server.listen(args.port, args.host, () => {
    const address = server.address()
    announce(typeof address === 'object' && address ? address.port : args.port)
  })
  exitOnSignals(() => server.close())
}

/** Total size of several collections (streams counted over per-topic sets). */
export function totalSize(collections: Iterable<{ readonly size: number }>): number {
  let n = 0
  for (const c of collections) n += c.size
  return n
}
