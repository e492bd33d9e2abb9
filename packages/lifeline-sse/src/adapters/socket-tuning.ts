/**
 * TCP settings for a stream's socket.
 *
 * Node has no TCP_USER_TIMEOUT. Without it a peer that vanished without FIN/RST (a cable pulled, a NAT
 * entry dropped) keeps its stream open for the kernel's ~15 minutes of retransmissions: the heartbeat
 * bytes sit unacknowledged in the kernel's send queue, and userland never sees a full buffer. The
 * optional dependency `net-keepalive` sets TCP_USER_TIMEOUT (which also bounds keepalive probing) through ffi-rs's
 * prebuilt binaries; it is loaded once after startup (see `load`), and when it is missing or fails to
 * load, streams get plain `setKeepAlive` (detection then falls back to the OS's timers).
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { type Server, Socket } from 'node:net'
import type { TransportTuning } from '../server/types.ts'

interface NetKeepAlive {
  setUserTimeout(socket: Socket, ms: number): boolean
}

// A variable specifier: the package is optional, so the type checker must not require it.
const NET_KEEPALIVE = 'net-keepalive'
/**
 * One FFI call costs ~0.2 ms (net-keepalive builds pointers per call), too much per accepted stream.
 * Linux copies TCP_USER_TIMEOUT from a listening socket to the sockets it accepts, so it is set once
 * on the listener. Connections whose handshake completed before that (still in the accept backlog)
 * did not inherit it: sockets accepted within this many ms after tuning the listener get their own call.
 */
export const INHERIT_GRACE_MS = 2_000

interface ListenerTuning {
  readonly userTimeoutMs: number
  readonly at: number
}
const tunedListeners = new WeakMap<Server, ListenerTuning>()

let native: NetKeepAlive | null | undefined

/**
 * The libc this process runs on, from the libraries mapped into it (Linux): cheap and independent of
 * how many sockets are open. Undefined where /proc is not readable.
 */
function mappedLibc(): 'glibc' | 'musl' | undefined {
  try {
    const maps = readFileSync('/proc/self/maps', 'latin1')
    if (maps.includes('musl')) return 'musl'
    if (maps.includes('/libc.so.6') || maps.includes('/libc-')) return 'glibc'
  } catch {
    // Not Linux, or /proc is hidden.
  }
  return undefined
}

/**
 * ffi-rs picks its glibc or musl binary by calling `process.report.getReport()` and reading
 * `header.glibcVersionRuntime`. A report is synchronous and walks every libuv handle (by default also
 * resolving each socket's peer name): with 1000 open sockets that stalled the event loop for seconds,
 * and still ~80 ms per 1000 handles with `excludeNetwork`
 * (test/server/socket-tuning-stall.test.ts). For the duration of one
 * synchronous `require`, where nothing else can run, `getReport` answers that header from
 * /proc/self/maps instead. Where the libc is not known the real report runs, without its network part.
 */
function withCheapLibcCheck<T>(fn: () => T): T {
  const report = process.report as
    | { getReport: (...args: unknown[]) => unknown; excludeNetwork?: boolean }
    | undefined
  if (report === undefined || typeof report.getReport !== 'function') return fn()
  const libc = mappedLibc()
  const real = report.getReport
  const excluded = report.excludeNetwork
  if (libc === undefined) report.excludeNetwork = true
  else report.getReport = () => ({ header: { glibcVersionRuntime: libc === 'glibc' ? 'mapped' : undefined } })
  try {
    return fn()
  } finally {
    report.getReport = real
    if (libc === undefined) report.excludeNetwork = excluded ?? false
  }
}

/** Loads the optional module once, synchronously (a few ms, whatever the number of open sockets). */
function load(): void {
  if (native !== undefined) return
  native = null
  try {
    const m = withCheapLibcCheck(() => createRequire(import.meta.url)(NET_KEEPALIVE)) as {
      default?: NetKeepAlive
    } & NetKeepAlive
    native = m.default ?? m
  } catch {
    // Missing or not loadable here: streams keep plain keepalive.
  }
}

// Loaded once right after startup, before a listener has accepted anything, so the first stream does
// not pay for it; `tuneSocket` loads it itself if a stream comes first.
setImmediate(load)

/** Resolves once the optional native module was tried: true when TCP_USER_TIMEOUT can be set. */
export async function userTimeoutSupported(): Promise<boolean> {
  load()
  return native !== null && process.platform === 'linux'
}

/** TCP_USER_TIMEOUT on the listening socket (inherited by every connection accepted after it). */
function tuneListener(nk: NetKeepAlive, server: Server, ms: number): ListenerTuning | undefined {
  const handle = (server as unknown as { _handle?: { fd?: number } | null })._handle
  if (handle === null || handle === undefined || typeof handle.fd !== 'number' || handle.fd < 0)
    return undefined
  // net-keepalive takes a net.Socket and reads its `_handle.fd`: give it a view of the listener's handle.
  const view = Object.create(Socket.prototype, { _handle: { value: handle } }) as Socket
  nk.setUserTimeout(view, ms)
  const tuning = { userTimeoutMs: ms, at: performance.now() }
  tunedListeners.set(server, tuning)
  return tuning
}

function applyNative(socket: Socket, t: TransportTuning): void {
  const nk = native
  if (nk === null || nk === undefined || socket.destroyed || t.userTimeoutMs <= 0) return
  try {
    const server = (socket as unknown as { server?: Server }).server
    if (server !== undefined) {
      const listener = tunedListeners.get(server) ?? tuneListener(nk, server, t.userTimeoutMs)
      if (
        listener !== undefined &&
        listener.userTimeoutMs === t.userTimeoutMs &&
        performance.now() - listener.at > INHERIT_GRACE_MS
      ) {
        return
      }
    }
    nk.setUserTimeout(socket, t.userTimeoutMs)
  } catch {
    // Not supported on this platform or socket (e.g. a Unix socket): plain keepalive stays in force.
    native = null
  }
}

/** Nagle off (events leave at once), no inactivity timeout (streams are long), keepalive on. */
export function tuneSocket(socket: Socket | null | undefined, t: TransportTuning): void {
  if (socket === null || socket === undefined) return
  socket.setNoDelay(true)
  socket.setTimeout(0)
  socket.setKeepAlive(true, t.keepAliveMs)
  if (socket.remoteFamily === undefined) return
  load()
  applyNative(socket, t)
}
