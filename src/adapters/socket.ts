import { type Server, Socket } from 'node:net'
import type { TransportTuning } from '../server/types.ts'

/**
 * TCP settings for a stream's socket.
 *
 * Node has no TCP_USER_TIMEOUT. Without it a peer that vanished without FIN/RST (a cable pulled, a NAT
 * entry dropped) keeps its stream open for the kernel's ~15 minutes of retransmissions: the heartbeat
 * bytes sit unacknowledged in the kernel's send queue, and userland never sees a full buffer. The
 * optional dependency `net-keepalive` sets TCP_USER_TIMEOUT (which also bounds keepalive probing) through ffi-rs's
 * prebuilt binaries; it is loaded with a dynamic import on first use, and when it is missing or fails
 * to load, streams get plain `setKeepAlive` (detection then falls back to the OS's timers).
 */
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
let loading: Promise<void> | undefined

function load(): Promise<void> {
  loading ??= import(NET_KEEPALIVE).then(
    (m: { default?: NetKeepAlive } & NetKeepAlive) => {
      native = m.default ?? m
    },
    () => {
      native = null
    },
  )
  return loading
}

/** Resolves once the optional native module was tried: true when TCP_USER_TIMEOUT can be set. */
export async function userTimeoutSupported(): Promise<boolean> {
  await load()
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
  if (native === undefined) void load().then(() => applyNative(socket, t))
  else applyNative(socket, t)
}
