/**
 * Live reads of the Durable Streams endpoint: long-polls waiting for an append, and SSE readers. One
 * sweep timer serves them all (deadlines of long-polls, SSE lifetimes, heartbeats): no timer per
 * reader. Each reader watches its stream in the store and re-reads from its offset on a change, so
 * it gets every entry once, in order, whatever store (memory, file, Redis) is underneath.
 */
import type { ReadResult, StreamStore } from 'lifeline-sse/server'
import type { Req, Res } from '../../shared/http-error.ts'
import { type PayloadKind, toSseData } from './payload.ts'
import { readChunk } from './read-chunk.ts'
import { writable } from './respond.ts'

/** Sweep period, ms: long-poll deadlines and lifetimes are met within this. */
const SWEEP_MS = 250
const PING = Buffer.from(': ping\n\n')

interface Reader {
  deadline: number
  lastWrite: number
  /** Called by the sweep once the deadline passed. */
  expire(): void
  /** Writes a heartbeat (SSE only). */
  ping?: (() => void) | undefined
}

export interface SseRead {
  readonly store: StreamStore
  readonly name: string
  readonly after: string
  readonly kind: PayloadKind
  readonly lifetimeMs: number
  readonly cursor: () => string
}

export class LiveReaders {
  readonly #readers = new Set<Reader>()
  readonly #heartbeatMs: number
  #timer: NodeJS.Timeout | undefined

  constructor(heartbeatMs: number) {
    this.#heartbeatMs = heartbeatMs
  }

  #add(reader: Reader): void {
    this.#readers.add(reader)
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#sweep(), SWEEP_MS)
      this.#timer.unref()
    }
  }

  #remove(reader: Reader): void {
    this.#readers.delete(reader)
    if (this.#readers.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }

  #sweep(): void {
    const now = Date.now()
    for (const r of this.#readers) {
      if (now >= r.deadline) r.expire()
      else if (r.ping !== undefined && this.#heartbeatMs > 0 && now - r.lastWrite >= this.#heartbeatMs) {
        r.lastWrite = now
        r.ping()
      }
    }
  }

  /** Resolves with the entries after `after` once there are some, the stream closes, or `timeoutMs` passes. */
  waitFor(
    req: Req,
    store: StreamStore,
    name: string,
    after: string,
    kind: PayloadKind,
    timeoutMs: number,
  ): Promise<ReadResult> {
    return new Promise((resolve, reject) => {
      let done = false
      let reading = false
      let again = false
      const finish = (result: ReadResult | Error): void => {
        if (done) return
        done = true
        unwatch()
        this.#remove(reader)
        req.off('close', onClose)
        if (result instanceof Error) reject(result)
        else resolve(result)
      }
      const check = (): void => {
        if (reading) {
          again = true
          return
        }
        reading = true
        readChunk(store, name, after, kind, false).then(
          (r) => {
            reading = false
            if (r.kind !== 'entries' || r.entries.length > 0 || r.info.closed) return finish(r)
            if (again) {
              again = false
              check()
            }
          },
          (err: Error) => finish(err),
        )
      }
      const reader: Reader = {
        deadline: Date.now() + timeoutMs,
        lastWrite: Date.now(),
        expire: () => {
          readChunk(store, name, after, kind, false).then(finish, finish)
        },
      }
      const onClose = (): void => finish(new Error('client left'))
      const unwatch = store.watch(name, () => check())
      req.once('close', onClose)
      this.#add(reader)
      // An append between the caller's read and the watch above is not missed.
      check()
    })
  }

  /** Streams `event: data` / `event: control` pairs from `after` until closed, deleted or the lifetime ends. */
  sse(req: Req, response: Res, read: SseRead): void {
    const res = writable(response)
    const { store, name, kind } = read
    const headers: Record<string, string> = {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    }
    if (kind === 'binary') headers['stream-sse-data-encoding'] = 'base64'
    res.writeHead(200, headers)
    if ('setTimeout' in req) (req as { setTimeout(ms: number): void }).setTimeout(0)
    let offset = read.after
    let ended = false
    let reading = false
    let again = false
    const write = (bytes: Uint8Array | string): void => {
      reader.lastWrite = Date.now()
      res.write(bytes)
    }
    const end = (): void => {
      if (ended) return
      ended = true
      unwatch()
      this.#remove(reader)
      res.end()
    }
    const pump = (): void => {
      if (ended) return
      if (reading) {
        again = true
        return
      }
      reading = true
      readChunk(store, name, offset, kind, false).then(
        (r) => {
          reading = false
          if (ended) return
          if (r.kind !== 'entries') return end()
          const entries = r.entries
          let out = ''
          if (entries.length > 0) {
            offset = (entries[entries.length - 1] as { offset: string }).offset
            out += sseEvent(
              'data',
              toSseData(
                kind,
                entries.map((e) => e.data),
              ),
            )
          } else if (offset === '-1') {
            offset = r.info.tail
          }
          const closed = r.upToDate && r.info.closed
          const control: Record<string, unknown> = { streamNextOffset: offset }
          if (closed) control['streamClosed'] = true
          else control['streamCursor'] = read.cursor()
          if (r.upToDate) control['upToDate'] = true
          if (entries.length > 0 || !sentFirst || closed || r.upToDate !== lastUpToDate) {
            out += sseEvent('control', JSON.stringify(control))
            sentFirst = true
            lastUpToDate = r.upToDate
          }
          if (out !== '') write(out)
          if (closed) return end()
          if (!r.upToDate || again) {
            again = false
            pump()
          }
        },
        () => {
          reading = false
          end()
        },
      )
    }
    let sentFirst = false
    let lastUpToDate = false
    const reader: Reader = {
      deadline: Date.now() + read.lifetimeMs,
      lastWrite: Date.now(),
      expire: end,
      ping: () => res.write(PING),
    }
    const unwatch = store.watch(name, (change) => (change === 'deleted' ? end() : pump()))
    res.once('close', end)
    this.#add(reader)
    pump()
  }

  close(): void {
    for (const r of [...this.#readers]) r.expire()
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
  }
}

/**
 * One SSE event. `data:` lines carry no space after the colon (the protocol's examples and kit read
 * `data:line`), except before a line that itself starts with a space, which the parser would strip.
 * [spec] WHATWG: "If value starts with a U+0020 SPACE character, remove it from value."
 */
function sseEvent(event: string, data: string): string {
  let out = `event: ${event}\n`
  for (const line of data.split(LINE_BREAK))
    out += line.charCodeAt(0) === SPACE ? `data: ${line}\n` : `data:${line}\n`
  return `${out}\n`
}

const SPACE = 0x20
const LINE_BREAK = /\r\n|\r|\n/
