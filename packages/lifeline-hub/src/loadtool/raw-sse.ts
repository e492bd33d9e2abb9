/**
 * One SSE request on a raw TCP socket: writes the GET, reads the response head, undoes chunked
 * transfer coding and hands body bytes to the caller. Made for holding tens of thousands of streams
 * per process: no http.ClientRequest/IncomingMessage pair per stream, no per-stream timer, body
 * chunks passed on as views of the socket's buffers (no copy) except across a chunk-size line split.
 */
import { connect, type Socket } from 'node:net'

const CR = 0x0d
const LF = 0x0a
const HEAD_END = Buffer.from('\r\n\r\n')
/** A response head larger than this is not an SSE server's: fail the stream. */
const MAX_HEAD = 64 * 1024

export type RawSseHandlers = {
  /** The response head arrived: status code and lower-cased headers. */
  onHead(status: number, headers: Map<string, string>): void
  /** Body bytes (already de-chunked). */
  onBody(chunk: Buffer): void
  /** The stream is over: `error` is set when it ended by a socket error (code e.g. ECONNREFUSED). */
  onClose(error: NodeJS.ErrnoException | undefined, endedCleanly: boolean): void
}

export type RawSseRequest = {
  host: string
  port: number
  path: string
  hostHeader: string
  localAddress?: string
  headers: string
}

/** Where the reader is in the response. */
const STATE = { HEAD: 0, SIZE: 1, DATA: 2, DATA_CRLF: 3, RAW: 4, DONE: 5 } as const

export class RawSseStream {
  readonly socket: Socket
  #handlers: RawSseHandlers
  #state: number = STATE.HEAD
  #head: Buffer | undefined
  /** Bytes of the current chunk still to pass on. */
  #remaining = 0
  /** The hex digits of a chunk-size line split across socket reads. */
  #sizeLine = ''
  #closed = false
  #ended = false
  #error: NodeJS.ErrnoException | undefined

  constructor(request: RawSseRequest, handlers: RawSseHandlers) {
    this.#handlers = handlers
    const socket = connect({ host: request.host, port: request.port, localAddress: request.localAddress })
    this.socket = socket
    socket.setNoDelay(true)
    socket.once('connect', () => {
      socket.write(
        `GET ${request.path} HTTP/1.1\r\nHost: ${request.hostHeader}\r\nAccept: text/event-stream\r\n` +
          `Cache-Control: no-cache\r\n${request.headers}\r\n`,
      )
    })
    socket.on('data', (data: Buffer) => this.#data(data))
    socket.once('end', () => {
      if (this.#state === STATE.RAW) this.#ended = true
    })
    socket.once('error', (error: NodeJS.ErrnoException) => {
      this.#error = error
    })
    socket.once('close', () => {
      if (this.#closed) return
      this.#closed = true
      this.#handlers.onClose(this.#error, this.#ended)
    })
  }

  /** Ends the stream from our side (RST-free: a FIN, then the socket is freed). */
  close(): void {
    this.socket.destroy()
  }

  #data(data: Buffer): void {
    let buf = data
    if (this.#state === STATE.HEAD) {
      const joined = this.#head ? Buffer.concat([this.#head, data]) : data
      const end = joined.indexOf(HEAD_END)
      if (end === -1) {
        if (joined.length > MAX_HEAD) this.socket.destroy()
        else this.#head = joined
        return
      }
      this.#head = undefined
      const lines = joined.toString('latin1', 0, end).split('\r\n')
      const status = Number(lines[0]?.split(' ')[1])
      const headers = new Map<string, string>()
      for (let i = 1; i < lines.length; i++) {
        const line = lines[i] as string
        const colon = line.indexOf(':')
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
      }
      this.#state = headers.get('transfer-encoding')?.toLowerCase().includes('chunked')
        ? STATE.SIZE
        : STATE.RAW
      this.#handlers.onHead(status, headers)
      if (this.#closed || this.socket.destroyed) return
      buf = joined.subarray(end + HEAD_END.length)
    }
    if (this.#state === STATE.RAW) {
      if (buf.length > 0) this.#handlers.onBody(buf)
      return
    }
    this.#chunked(buf)
  }

  /** Transfer-Encoding: chunked (RFC 9112 §7.1): `<hex size>[;ext]CRLF <data> CRLF`, size 0 ends. */
  #chunked(buf: Buffer): void {
    let pos = 0
    const len = buf.length
    while (pos < len) {
      switch (this.#state) {
        case STATE.SIZE: {
          const lf = buf.indexOf(LF, pos)
          if (lf === -1) {
            this.#sizeLine += buf.toString('latin1', pos)
            return
          }
          const line =
            this.#sizeLine + buf.toString('latin1', pos, lf > pos && buf[lf - 1] === CR ? lf - 1 : lf)
          this.#sizeLine = ''
          pos = lf + 1
          const size = Number.parseInt(line.replace(/\r$/, '').split(';')[0] as string, 16)
          if (!Number.isFinite(size)) {
            this.socket.destroy()
            return
          }
          if (size === 0) {
            this.#state = STATE.DONE
            this.#ended = true
            this.socket.end()
            return
          }
          this.#remaining = size
          this.#state = STATE.DATA
          break
        }
        case STATE.DATA: {
          const take = Math.min(this.#remaining, len - pos)
          this.#handlers.onBody(buf.subarray(pos, pos + take))
          if (this.#closed) return
          pos += take
          this.#remaining -= take
          if (this.#remaining === 0) {
            this.#state = STATE.DATA_CRLF
            this.#remaining = 2
          }
          break
        }
        case STATE.DATA_CRLF: {
          // The CRLF after a chunk's data, possibly split across reads.
          const take = Math.min(this.#remaining, len - pos)
          pos += take
          this.#remaining -= take
          if (this.#remaining === 0) this.#state = STATE.SIZE
          break
        }
        default:
          return
      }
    }
  }
}
