/**
 * A small SSE server with switchable faults, for testing `lifeline doctor` before (and apart from)
 * the hub: `GET /events?topic=` streams, `POST /publish` {topic, data, event} answers 201 {id}, and
 * `Last-Event-ID` replays from an in-memory list. Each fault reproduces what a misconfigured proxy does.
 */
import { once } from 'node:events'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createGzip, type Gzip } from 'node:zlib'
import { encodeComment, encodeEvent } from '../../packages/lifeline-sse/src/protocol/encode.ts'

export interface FixtureOptions {
  /** Comment every this many ms. 0: none. */
  heartbeatMs: number
  /** Send `Cache-Control: no-cache`. */
  noCache?: boolean
  /** gzip the stream (as a proxy with gzip on text/event-stream would). */
  gzip?: boolean
  /** Hold bytes until this many are queued (as a buffering proxy would). 0: write at once. */
  bufferBytes?: number
  /** Close the stream after this many ms without a write (as a proxy's read timeout would). 0: never. */
  idleCutMs?: number
  /** Answer every Last-Event-ID with a lifeline:reset (as an unshared history on another node would). */
  forgetHistory?: boolean
}

interface Client {
  topic: string
  write(bytes: Uint8Array): void
  lastWrite: number
  end(): void
}

export interface Fixture {
  readonly url: string
  close(): Promise<void>
}

export async function startFixture(options: FixtureOptions): Promise<Fixture> {
  const history: Array<{ id: string; topic: string; bytes: Uint8Array }> = []
  const clients = new Set<Client>()
  let nextId = 1

  function attach(res: ServerResponse, topic: string): Client {
    let pending: Buffer[] = []
    let pendingBytes = 0
    let gzip: Gzip | undefined
    if (options.gzip) {
      gzip = createGzip()
      gzip.pipe(res)
    }
    const raw = (bytes: Uint8Array): void => {
      if (gzip) {
        gzip.write(bytes)
        gzip.flush()
      } else res.write(bytes)
    }
    const client: Client = {
      topic,
      lastWrite: Date.now(),
      write(bytes) {
        client.lastWrite = Date.now()
        const limit = options.bufferBytes ?? 0
        if (limit === 0) return raw(bytes)
        pending.push(Buffer.from(bytes))
        pendingBytes += bytes.length
        if (pendingBytes >= limit) {
          raw(Buffer.concat(pending))
          pending = []
          pendingBytes = 0
        }
      },
      end() {
        if (gzip) gzip.end()
        else res.end()
      },
    }
    return client
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fixture')
    if (req.method === 'POST' && url.pathname === '/publish') {
      let body = ''
      for await (const chunk of req) body += chunk
      const { topic, data, event } = JSON.parse(body) as { topic: string; data: string; event?: string }
      const id = String(nextId++)
      const bytes = encodeEvent({ id, data, ...(event ? { event } : {}) })
      history.push({ id, topic, bytes })
      for (const client of clients) if (client.topic === topic) client.write(bytes)
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id }))
      return
    }
    if (req.method === 'GET' && url.pathname === '/events') {
      const topic = url.searchParams.get('topic') ?? ''
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        ...(options.noCache === false ? {} : { 'cache-control': 'no-cache' }),
        ...(options.gzip ? { 'content-encoding': 'gzip' } : {}),
      })
      res.flushHeaders()
      const client = attach(res, topic)
      clients.add(client)
      req.on('close', () => clients.delete(client))
      client.write(new TextEncoder().encode('retry: 1000\n\n'))
      client.write(encodeComment('open'))
      const lastEventId = req.headers['last-event-id']
      if (typeof lastEventId === 'string') {
        if (options.forgetHistory) {
          client.write(
            encodeEvent({
              event: 'lifeline:reset',
              data: JSON.stringify({ reason: 'unknown', lastEventId }),
            }),
          )
        } else {
          const from = history.findIndex((h) => h.id === lastEventId)
          for (const h of history.slice(from + 1)) if (h.topic === topic) client.write(h.bytes)
        }
      }
      return
    }
    if (url.pathname === '/readyz' || url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')
      return
    }
    res.writeHead(404).end()
  })
  // One sweep for every stream: heartbeats and the simulated idle cut.
  const tick = Math.max(50, Math.min(options.heartbeatMs || 1000, options.idleCutMs || 1000) / 5)
  const timer = setInterval(() => {
    const now = Date.now()
    for (const client of clients) {
      if (options.idleCutMs && now - client.lastWrite >= options.idleCutMs) {
        clients.delete(client)
        client.end()
      } else if (options.heartbeatMs && now - client.lastWrite >= options.heartbeatMs) {
        client.write(encodeComment('ping'))
      }
    }
  }, tick)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      clearInterval(timer)
      for (const client of clients) client.end()
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
}
