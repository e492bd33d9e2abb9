/**
 * One SSE request made the way a browser's EventSource makes it, with the arrival time of every byte,
 * event, comment and the end recorded. The doctor's checks and the proxy tests read these records.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Readable } from 'node:stream'
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib'
import type { ParsedEvent } from 'lifeline-sse/protocol'
import { EventStreamParser } from 'lifeline-sse/protocol'

/** What a current Chrome sends on an EventSource request (fetch spec: `Accept: text/event-stream`,
 *  `Cache-Control: no-cache`), plus the compression it accepts, so a proxy compresses as it would for it. */
export const BROWSER_HEADERS: Readonly<Record<string, string>> = {
  accept: 'text/event-stream',
  'cache-control': 'no-cache',
  'accept-encoding': 'gzip, deflate, br',
  'user-agent': 'lifeline-doctor (like an EventSource)',
}

export interface ProbeOptions {
  headers?: Record<string, string>
  /** Local address to connect from (tests use 127.0.0.2... to look like distinct clients). */
  localAddress?: string
  /** Give up on the response headers after this many ms. @default 10_000 */
  connectTimeoutMs?: number
}

export interface TimedEvent extends ParsedEvent {
  /** ms since the probe started (performance.now based). */
  at: number
}

export interface ProbeEnd {
  at: number
  /** `eof`: the response ended cleanly; `error`: the connection was reset or failed. */
  kind: 'eof' | 'error'
  error?: string
}

/** The start of a stream: status and headers, and then everything that arrives. */
export class Probe {
  readonly startedAt = performance.now()
  status = 0
  headers: IncomingHttpHeaders = {}
  httpVersion = ''
  headersAt = -1
  firstByteAt = -1
  /** Arrival time (ms since start) of every chunk read from the socket, with its size (wire bytes). */
  readonly chunks: Array<{ at: number; bytes: number }> = []
  readonly events: TimedEvent[] = []
  readonly comments: Array<{ at: number; text: string }> = []
  retry: number | undefined
  end: ProbeEnd | undefined
  /** The body as text when the status is not 200 (an error JSON), up to 4 KiB. */
  errorBody = ''
  #waiters = new Set<() => void>()
  #abort: () => void = () => {}

  /** ms since the probe started. */
  now(): number {
    return performance.now() - this.startedAt
  }

  /** Ends the request (the client goes away, as a closed tab would). */
  close(): void {
    this.#abort()
  }

  /** Resolves when `predicate` holds (checked on every arrival), rejects after `timeoutMs`. */
  waitFor<T>(predicate: () => T | undefined | false, timeoutMs: number, what = 'condition'): Promise<T> {
    const first = predicate()
    if (first) return Promise.resolve(first)
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const value = predicate()
        if (value) {
          clearTimeout(timer)
          this.#waiters.delete(check)
          resolve(value)
        } else if (this.end !== undefined) {
          // Nothing more will arrive: say so now instead of waiting out the deadline.
          clearTimeout(timer)
          this.#waiters.delete(check)
          reject(
            new Error(
              `stream ended (${this.end.kind}${this.end.error ? `: ${this.end.error}` : ''}) before ${what}`,
            ),
          )
        }
      }
      const timer = setTimeout(() => {
        this.#waiters.delete(check)
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))
      }, timeoutMs)
      this.#waiters.add(check)
    })
  }

  /** Resolves with the first event (arrived at index >= `from`) that matches. */
  waitForEvent(match: (e: TimedEvent) => boolean, timeoutMs: number, from = 0): Promise<TimedEvent> {
    return this.waitFor(() => this.events.slice(from).find(match), timeoutMs, 'the expected event')
  }

  /** Resolves when the stream has ended (clean end or error). */
  waitForEnd(timeoutMs: number): Promise<ProbeEnd> {
    return new Promise((resolve, reject) => {
      if (this.end) return resolve(this.end)
      const check = (): void => {
        if (this.end) {
          clearTimeout(timer)
          this.#waiters.delete(check)
          resolve(this.end)
        }
      }
      const timer = setTimeout(() => {
        this.#waiters.delete(check)
        reject(new Error(`stream still open after ${timeoutMs} ms`))
      }, timeoutMs)
      this.#waiters.add(check)
    })
  }

  /** Time of the last byte that arrived (or of the headers when no byte did). */
  lastByteAt(): number {
    const last = this.chunks.at(-1)
    return last ? last.at : this.headersAt
  }

  notify(): void {
    for (const waiter of [...this.#waiters]) waiter()
  }

  setAbort(abort: () => void): void {
    this.#abort = abort
  }
}

function decoded(res: IncomingMessage): Readable {
  const encoding = String(res.headers['content-encoding'] ?? '').toLowerCase()
  // A browser decompresses what the server compressed; so does the probe, to keep reading events
  // (the compression check reports that it happened). Flushes are kept: each chunk is decoded at once.
  if (encoding === 'gzip' || encoding === 'x-gzip') return res.pipe(createGunzip())
  if (encoding === 'deflate') return res.pipe(createInflate())
  if (encoding === 'br') return res.pipe(createBrotliDecompress())
  return res
}

/** Opens the stream; resolves once the response headers arrived (any status). */
export function openProbe(url: string | URL, options: ProbeOptions = {}): Promise<Probe> {
  const target = new URL(url)
  const probe = new Probe()
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    let settled = false
    const finish = (kind: ProbeEnd['kind'], error?: string): void => {
      if (probe.end) return
      probe.end = error === undefined ? { at: probe.now(), kind } : { at: probe.now(), kind, error }
      probe.notify()
    }
    const req = request(target, {
      method: 'GET',
      headers: { ...BROWSER_HEADERS, ...options.headers },
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      // A fresh connection per stream, as a browser's dedicated EventSource connection.
      agent: false,
    })
    const connectTimer = setTimeout(() => {
      if (!settled)
        req.destroy(new Error(`no response headers within ${options.connectTimeoutMs ?? 10_000} ms`))
    }, options.connectTimeoutMs ?? 10_000)
    probe.setAbort(() => {
      req.destroy()
      finish('eof', 'closed by the client')
    })
    req.on('error', (error) => {
      clearTimeout(connectTimer)
      if (!settled) {
        settled = true
        reject(error)
        return
      }
      finish('error', error.message)
    })
    req.on('response', (res) => {
      clearTimeout(connectTimer)
      settled = true
      probe.status = res.statusCode ?? 0
      probe.headers = res.headers
      probe.httpVersion = res.httpVersion
      probe.headersAt = probe.now()
      res.on('data', (chunk: Buffer) => {
        const at = probe.now()
        if (probe.firstByteAt < 0) probe.firstByteAt = at
        probe.chunks.push({ at, bytes: chunk.length })
        if (probe.status !== 200 && probe.errorBody.length < 4096) probe.errorBody += chunk.toString('utf8')
      })
      res.on('close', () => {
        // A reset or a proxy that drops the connection mid-stream: no clean end of the response.
        if (!res.complete) finish('error', 'connection closed before the end of the response')
      })
      res.on('error', (error) => finish('error', error.message))
      const body = decoded(res)
      const parser = new EventStreamParser({
        onEvent: (event) => {
          probe.events.push({ ...event, at: probe.now() })
          probe.notify()
        },
        onComment: (text) => {
          probe.comments.push({ at: probe.now(), text })
          probe.notify()
        },
        onRetry: (ms) => {
          probe.retry = ms
        },
      })
      if (probe.status === 200) body.on('data', (chunk: Buffer) => parser.push(chunk))
      else body.resume()
      body.on('error', (error) => finish('error', error.message))
      body.on('end', () => {
        parser.end()
        finish('eof')
      })
      // Data listeners above notify waiters for events; chunk arrivals notify too (first-byte waits).
      res.on('data', () => probe.notify())
      resolve(probe)
    })
    req.end()
  })
}
