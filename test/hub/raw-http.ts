/**
 * Raw HTTP/1.1 over a real TCP (or TLS) socket, for requests no well-behaved client sends: a body that
 * trickles or stops, malformed chunking, headers sent a byte at a time. Resolves with everything the
 * hub wrote until it closed the socket (or the deadline passed).
 */
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'

export interface RawAnswer {
  /** Everything received, as text. */
  text: string
  /** Status of the first response line, 0 when none came. */
  status: number
  /** The JSON body of the first response, when it has one. */
  json(): Record<string, unknown>
  /** True when the hub closed the socket before the deadline. */
  closed: boolean
}

export interface RawOptions {
  /** Give up (and report what came) after this long. @default 10000 */
  deadlineMs?: number
  /** Leave the socket open after writing (the hub must close it). @default true */
  keepOpen?: boolean
  /** Connect with TLS (no certificate check; ALPN http/1.1). */
  tls?: boolean
}

export function openRaw(url: string, tls = false): Promise<Socket> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = tls
      ? tlsConnect({
          host: u.hostname,
          port: Number(u.port),
          rejectUnauthorized: false,
          ALPNProtocols: ['http/1.1'],
        })
      : netConnect({ host: u.hostname, port: Number(u.port) })
    socket.once(tls ? 'secureConnect' : 'connect', () => resolve(socket))
    socket.once('error', reject)
  })
}

/** Collects what the hub sends on `socket` until it closes it or the deadline passes. */
export function readAll(socket: Socket, deadlineMs = 10_000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (c: string) => (text += c))
    const finish = (closed: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0)
      resolve({
        text,
        status,
        closed,
        json: () => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>,
      })
    }
    const timer = setTimeout(() => finish(false), deadlineMs)
    socket.once('close', () => finish(true))
    socket.once('error', () => {})
  })
}

/** Writes `request` (a string or parts written in turn) and collects the answer. */
export async function rawRequest(
  url: string,
  request: string | Buffer,
  options: RawOptions = {},
): Promise<RawAnswer> {
  const socket = await openRaw(url, options.tls)
  const answer = readAll(socket, options.deadlineMs)
  socket.write(request)
  if (options.keepOpen === false) socket.end()
  return answer
}
