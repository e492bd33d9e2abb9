/**
 * Test plumbing: an SSE reader over a raw TCP socket (HTTP/1.1 written by hand, chunked decoding,
 * the project's WHATWG parser), so a test sees exact bytes, can stop reading (a slow consumer) and
 * can tell a clean end (the final chunk) from a destroyed socket.
 */
import { connect, type Socket } from 'node:net'
import { EventStreamParser } from '../../packages/lifeline-sse/src/protocol/parse.ts'

export interface Received {
  readonly type: string
  readonly data: string
  readonly id: string
}

export interface RawStream {
  readonly status: number
  readonly headers: Map<string, string[]>
  /** Response body bytes (after chunked decoding) as text. */
  body(): string
  readonly events: Received[]
  readonly comments: string[]
  readonly retries: number[]
  /** Resolves once the predicate holds (checked on every chunk); rejects after `ms`. */
  waitFor(what: string, predicate: () => boolean, ms?: number): Promise<void>
  /** Resolves when the response ends: `clean` is true when the final chunk arrived. */
  readonly ended: Promise<{ clean: boolean }>
  /** Stops reading: the kernel buffers fill and the server sees backpressure. */
  pause(): void
  /** The client goes away (FIN). */
  close(): void
  readonly socket: Socket
}

const CRLF2 = '\r\n\r\n'
const DEFAULT_WAIT_MS = 10_000

export interface OpenRawOptions {
  headers?: Record<string, string>
  /** Bind the client socket to this local address (per-IP tests: 127.0.0.x). */
  localAddress?: string
  /** For the body: `status` != 200 responses are read as plain text until the socket ends. */
}

export function openRaw(url: string, options: OpenRawOptions = {}): Promise<RawStream> {
  const u = new URL(url)
  const socket = connect({
    host: u.hostname,
    port: Number(u.port),
    ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
  })
  const lines = [`GET ${u.pathname}${u.search} HTTP/1.1`, `Host: ${u.host}`, 'Accept: text/event-stream']
  for (const [k, v] of Object.entries(options.headers ?? {})) lines.push(`${k}: ${v}`)
  socket.write(`${lines.join('\r\n')}${CRLF2}`)

  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0)
    let status = 0
    const headers = new Map<string, string[]>()
    let chunked = false
    let pendingBody = Buffer.alloc(0)
    let text = ''
    const events: Received[] = []
    const comments: string[] = []
    const retries: number[] = []
    const waiters = new Set<() => void>()
    let sawFinalChunk = false
    let resolveEnded!: (v: { clean: boolean }) => void
    const ended = new Promise<{ clean: boolean }>((r) => {
      resolveEnded = r
    })
    const decoder = new TextDecoder()
    const parser = new EventStreamParser({
      onEvent: (e) => events.push({ type: e.type, data: e.data, id: e.lastEventId }),
      onComment: (c) => comments.push(c),
      onRetry: (ms) => retries.push(ms),
    })
    const notify = (): void => {
      for (const w of [...waiters]) w()
    }
    const feedBody = (bytes: Buffer): void => {
      const s = decoder.decode(bytes, { stream: true })
      text += s
      parser.push(s)
    }
    const decodeChunks = (): void => {
      // Chunked transfer coding: <hex size>CRLF<data>CRLF ... 0CRLF CRLF
      for (;;) {
        const lineEnd = pendingBody.indexOf('\r\n')
        if (lineEnd === -1) return
        const size = Number.parseInt(pendingBody.subarray(0, lineEnd).toString('latin1'), 16)
        if (size === 0) {
          // The final chunk: the response ended cleanly (the socket itself may stay open for keep-alive).
          sawFinalChunk = true
          resolveEnded({ clean: true })
          return
        }
        if (pendingBody.length < lineEnd + 2 + size + 2) return
        feedBody(pendingBody.subarray(lineEnd + 2, lineEnd + 2 + size))
        pendingBody = pendingBody.subarray(lineEnd + 2 + size + 2)
      }
    }
    const stream: RawStream = {
      get status() {
        return status
      },
      headers,
      body: () => text,
      events,
      comments,
      retries,
      ended,
      socket,
      pause: () => socket.pause(),
      close: () => socket.end(),
      waitFor(what, predicate, ms = DEFAULT_WAIT_MS) {
        if (predicate()) return Promise.resolve()
        return new Promise<void>((res, rej) => {
          const check = (): void => {
            if (!predicate()) return
            clearTimeout(timer)
            waiters.delete(check)
            res()
          }
          const timer = setTimeout(() => {
            waiters.delete(check)
            rej(
              new Error(
                `timed out after ${ms} ms waiting for ${what}; body so far: ${JSON.stringify(text.slice(-400))}`,
              ),
            )
          }, ms)
          waiters.add(check)
        })
      },
    }
    socket.on('data', (data: Buffer) => {
      if (status === 0) {
        head = Buffer.concat([head, data])
        const end = head.indexOf(CRLF2)
        if (end === -1) return
        const [statusLine = '', ...headerLines] = head.subarray(0, end).toString('latin1').split('\r\n')
        status = Number(statusLine.split(' ')[1])
        for (const line of headerLines) {
          const i = line.indexOf(':')
          const name = line.slice(0, i).trim().toLowerCase()
          const list = headers.get(name) ?? []
          list.push(line.slice(i + 1).trim())
          headers.set(name, list)
        }
        chunked = headers.get('transfer-encoding')?.[0] === 'chunked'
        data = head.subarray(end + 4)
        resolve(stream)
      }
      if (chunked) {
        pendingBody = Buffer.concat([pendingBody, data])
        decodeChunks()
      } else {
        feedBody(data)
      }
      notify()
    })
    // A reset or refused socket shows as `ended` (clean: false); the test asserts on that.
    socket.on('error', () => {})
    socket.on('close', () => {
      if (status === 0) reject(new Error(`connection closed before a response to ${url}`))
      resolveEnded({ clean: sawFinalChunk })
      notify()
    })
  })
}
