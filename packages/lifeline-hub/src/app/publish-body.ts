/**
 * Publish request bodies: `application/json` or `application/x-www-form-urlencoded`, at most
 * `--max-body` bytes (413 past it, checked on Content-Length before reading and again while reading).
 */
import { HttpError, type Req } from '../shared/http-error.ts'

export type ParsedBody = { kind: 'json'; value: unknown } | { kind: 'form'; value: URLSearchParams }

function mediaType(req: Req): string {
  const header = req.headers['content-type']
  return (typeof header === 'string' ? (header.split(';')[0] ?? '') : '').trim().toLowerCase()
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(
    'body_too_large',
    `The request body is over ${maxBytes} bytes: send a smaller event or raise --max-body.`,
  )
}

/**
 * Past the cap, the rest of the body is read and thrown away before the 413 goes out, up to this many
 * bytes and this long: answering at once makes Node close the socket while the client is still
 * writing, and the client then sees a reset (EPIPE) instead of the 413. A body declared larger than
 * this is refused at once: reading it would cost more than the clear answer is worth.
 */
const LINGER_MAX_BYTES = 16 * 1024 * 1024
const LINGER_MAX_MS = 5_000

/**
 * Discards what is left of the request body (bounded by LINGER_*, and by half the request timeout so
 * the 413 goes out before Node's own 408 would), then resolves.
 */
function discardRest(req: Req, requestTimeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    let discarded = 0
    const done = (): void => {
      clearTimeout(timer)
      req.off('data', onData)
      resolve()
    }
    const onData = (chunk: Buffer): void => {
      discarded += chunk.length
      if (discarded > LINGER_MAX_BYTES) done()
    }
    const timer = setTimeout(
      done,
      requestTimeoutMs > 0 ? Math.min(LINGER_MAX_MS, requestTimeoutMs / 2) : LINGER_MAX_MS,
    )
    if (req.complete) return done()
    req.on('data', onData)
    req.once('end', done)
    req.once('close', done)
    req.once('error', done)
    req.resume()
  })
}

/**
 * Bytes of unfinished bodies held per connection (the HTTP/1.1 socket or the HTTP/2 session). One
 * HTTP/1.1 connection reads one body at a time, but one HTTP/2 connection may send on all its streams
 * at once: without this, 100 streams x `--max-body` would be held for one client.
 */
const heldByConnection = new WeakMap<object, number>()

function connectionOf(req: Req): object {
  return 'stream' in req ? (req.stream.session ?? req.stream) : req.socket
}

function connectionFull(maxBytes: number): HttpError {
  return new HttpError(
    'body_too_large',
    `This connection's unfinished request bodies are over ${maxBytes} bytes (--max-connection-body): send fewer bodies at once.`,
  )
}

/**
 * Reads the body with a byte cap, and a cap on what all unfinished bodies of its connection hold. On
 * overflow of the body's cap the rest is discarded, not buffered; past the connection's cap the request
 * is answered 413 at once (an HTTP/2 stream is then reset by the 408 timer if it keeps sending).
 */
export async function readBody(
  req: Req,
  maxBytes: number,
  requestTimeoutMs = 0,
  maxConnectionBytes = Number.POSITIVE_INFINITY,
): Promise<ParsedBody> {
  const type = mediaType(req)
  if (type !== 'application/json' && type !== 'application/x-www-form-urlencoded') {
    req.resume()
    throw new HttpError(
      'unsupported_media_type',
      `Content-Type "${type || '(none)'}" is not accepted: send application/json or application/x-www-form-urlencoded.`,
    )
  }
  const text = (await readBytes(req, maxBytes, requestTimeoutMs, maxConnectionBytes)).toString('utf8')
  if (type === 'application/x-www-form-urlencoded') return { kind: 'form', value: new URLSearchParams(text) }
  try {
    return { kind: 'json', value: JSON.parse(text) }
  } catch (err) {
    throw new HttpError(
      'bad_json',
      `The body is not valid JSON (${(err as Error).message}): send {"topic": "...", "data": ...}.`,
    )
  }
}

/**
 * The whole body as bytes, at most `maxBytes` (413 past it: the rest is read and dropped, bounded,
 * so the client gets the answer instead of a reset). Publish bodies and Durable Streams appends.
 */
export async function readBytes(
  req: Req,
  maxBytes: number,
  requestTimeoutMs = 0,
  maxConnectionBytes = Number.POSITIVE_INFINITY,
): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > maxBytes) {
    if (declared <= LINGER_MAX_BYTES) await discardRest(req, requestTimeoutMs)
    else req.resume()
    throw tooLarge(maxBytes)
  }
  // Event listeners, not `for await`: leaving an async iterator early destroys the socket, and the
  // client would see a reset instead of the 413.
  const { chunks, size } = await new Promise<{ chunks: Buffer[]; size: number }>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const connection = connectionOf(req)
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      const held = (heldByConnection.get(connection) ?? 0) + chunk.length
      heldByConnection.set(connection, held)
      if (held > maxConnectionBytes) {
        req.off('data', onData)
        req.off('end', onEnd)
        settle()
        reject(connectionFull(maxConnectionBytes))
        return
      }
      if (size <= maxBytes) {
        chunks.push(chunk)
        return
      }
      req.off('data', onData)
      req.off('end', onEnd)
      settle()
      discardRest(req, requestTimeoutMs).then(() => reject(tooLarge(maxBytes)))
    }
    // The connection (HTTP/1.1 socket) or the HTTP/2 stream: when it closes mid-body, the request
    // itself may emit nothing at all (seen on Node 24), so the body's end is awaited on both.
    const carrier = 'stream' in req ? req.stream : req.socket
    const settle = (): void => {
      heldByConnection.set(connection, (heldByConnection.get(connection) ?? size) - size)
      req.off('error', onClose)
      req.off('close', onClose)
      carrier.off('close', onClose)
    }
    const onEnd = (): void => {
      settle()
      resolve({ chunks, size })
    }
    // A client that goes away mid-body (an `aborted` error, or just a close): the client's doing, so a
    // 4xx that nobody reads (no-op after `end`), never an error the hub logs as its own fault.
    const onClose = (): void => {
      settle()
      reject(new HttpError('bad_request', 'The request body was cut off: send it whole.'))
    }
    req.on('data', onData)
    req.once('end', onEnd)
    req.once('error', onClose)
    req.once('close', onClose)
    carrier.once('close', onClose)
  })
  return Buffer.concat(chunks, size)
}
