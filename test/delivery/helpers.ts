/**
 * Test plumbing for the delivery suite: a hub behind node:http on an ephemeral 127.0.0.1 port, and an
 * SSE client over a real socket (node:http + the project's WHATWG parser) that records every event
 * and lets a test await the one it expects, with a deadline.
 */
import {
  type ClientRequest,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
} from 'node:http'
import type { AddressInfo } from 'node:net'
import { handleNode } from '../../packages/lifeline-sse/src/adapters/node.ts'
import { EventStreamParser } from '../../packages/lifeline-sse/src/protocol/parse.ts'
import { createHub } from '../../packages/lifeline-sse/src/server/hub.ts'
import type { Hub, HubOptions } from '../../packages/lifeline-sse/src/server/types.ts'

export interface Received {
  readonly type: string
  readonly data: string
  readonly id: string
}

export interface TestHub {
  readonly hub: Hub
  readonly url: string
  readonly server: Server
  close(): Promise<void>
}

/** A hub serving `GET /events` through `handleNode` on 127.0.0.1:<ephemeral>. */
export async function startHub(options: HubOptions = {}): Promise<TestHub> {
  const hub = createHub({ heartbeatMs: 0, ...options })
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/events')) {
      handleNode(hub, req, res)
      return
    }
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    hub,
    server,
    url: `http://127.0.0.1:${port}`,
    async close() {
      await hub.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

export interface OpenOptions {
  /** Sent as the `Last-Event-ID` header. */
  lastEventId?: string
  /** Extra query text appended to the URL as is (e.g. `lastEventId=...`). */
  query?: string
  headers?: Record<string, string>
}

/** One SSE stream over a real socket; events are recorded in arrival order. */
export class SseClient {
  readonly events: Received[] = []
  status = 0
  ended = false
  #req: ClientRequest | undefined
  #waiters = new Set<() => void>()
  #opened: Promise<void>

  constructor(base: string, topics: readonly string[], options: OpenOptions = {}) {
    const qs = topics.map((t) => `topic=${encodeURIComponent(t)}`)
    if (options.query) qs.push(options.query)
    const url = new URL(`${base}/events?${qs.join('&')}`)
    const headers: Record<string, string> = { Accept: 'text/event-stream', ...options.headers }
    if (options.lastEventId !== undefined) headers['Last-Event-ID'] = options.lastEventId
    this.#opened = new Promise<void>((resolve, reject) => {
      const req = httpRequest(url, { headers, agent: false }, (res: IncomingMessage) => {
        this.status = res.statusCode ?? 0
        const parser = new EventStreamParser({
          onEvent: (e) => {
            this.events.push({ type: e.type, data: e.data, id: e.lastEventId })
            this.#wake()
          },
        })
        res.on('data', (chunk: Buffer) => parser.push(chunk))
        res.on('end', () => this.#finish())
        res.on('close', () => this.#finish())
        res.on('error', () => this.#finish())
        resolve()
      })
      req.on('error', (err) => {
        this.#finish()
        reject(err)
      })
      req.end()
      this.#req = req
    })
  }

  /** Resolves once the response headers arrived. */
  opened(): Promise<void> {
    return this.#opened
  }

  /** Awaits `predicate(events)` becoming true; rejects after `timeoutMs`. */
  waitFor(
    predicate: (events: readonly Received[]) => boolean,
    what: string,
    timeoutMs = 10_000,
  ): Promise<void> {
    if (predicate(this.events)) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (predicate(this.events)) {
          clearTimeout(timer)
          this.#waiters.delete(check)
          resolve()
        } else if (this.ended) {
          clearTimeout(timer)
          this.#waiters.delete(check)
          reject(
            new Error(`stream ended while waiting for ${what}; got ${JSON.stringify(this.events.slice(-5))}`),
          )
        }
      }
      const timer = setTimeout(() => {
        this.#waiters.delete(check)
        reject(
          new Error(
            `timed out waiting for ${what}; got ${this.events.length} events, last ${JSON.stringify(this.events.slice(-3))}`,
          ),
        )
      }, timeoutMs)
      this.#waiters.add(check)
    })
  }

  /** Awaits `n` events in total. */
  waitForCount(n: number, timeoutMs?: number): Promise<void> {
    return this.waitFor((e) => e.length >= n, `${n} events`, timeoutMs)
  }

  /** Awaits the end of the stream. */
  waitEnded(timeoutMs = 10_000): Promise<void> {
    return this.waitFor(() => this.ended, 'the end of the stream', timeoutMs).catch((err) => {
      if (this.ended) return
      throw err
    })
  }

  close(): void {
    this.#req?.destroy()
    this.#finish()
  }

  /** Events except `lifeline:*` control events. */
  messages(): Received[] {
    return this.events.filter((e) => !e.type.startsWith('lifeline:'))
  }

  #finish(): void {
    if (this.ended) return
    this.ended = true
    this.#wake()
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w()
  }
}

/** Opens a stream and awaits its headers. */
export async function connect(
  base: string,
  topics: readonly string[],
  options?: OpenOptions,
): Promise<SseClient> {
  const c = new SseClient(base, topics, options)
  await c.opened()
  return c
}

/** Waits until the hub counts `n` open streams (a stream is subscribed once the hub has opened it). */
export async function waitForStreams(hub: Hub, n: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (hub.size !== n) {
    if (Date.now() > deadline) throw new Error(`hub has ${hub.size} streams, expected ${n}`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}
