import type { Socket } from 'node:net'
import type { TransportTuning } from '../server/types.ts'

/**
 * TCP settings for a stream's socket.
 *
 * Node has no TCP_USER_TIMEOUT. Without it a peer that vanished without FIN/RST (a cable pulled, a NAT
 * entry dropped) keeps its stream open for the kernel's ~15 minutes of retransmissions: the heartbeat
 * bytes sit unacknowledged in the kernel's send queue, and userland never sees a full buffer. The
 * optional dependency `net-keepalive` sets TCP_USER_TIMEOUT (and keepalive timing) through ffi-rs's
 * prebuilt binaries; it is loaded with a dynamic import on first use, and when it is missing or fails
 * to load, streams get plain `setKeepAlive` (detection then falls back to the OS's timers).
 */
interface NetKeepAlive {
  setUserTimeout(socket: Socket, ms: number): boolean
  setKeepAliveInterval(socket: Socket, ms: number): boolean
  setKeepAliveProbes(socket: Socket, count: number): boolean
}

// A variable specifier: the package is optional, so the type checker must not require it.
const NET_KEEPALIVE = 'net-keepalive'
/** Keepalive probes after the idle time, one second apart, before the kernel gives up. */
const KEEPALIVE_PROBES = 3
const KEEPALIVE_INTERVAL_MS = 1_000

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

function applyNative(socket: Socket, t: TransportTuning): void {
  if (native === null || native === undefined || socket.destroyed) return
  try {
    if (t.userTimeoutMs > 0) native.setUserTimeout(socket, t.userTimeoutMs)
    native.setKeepAliveInterval(socket, KEEPALIVE_INTERVAL_MS)
    native.setKeepAliveProbes(socket, KEEPALIVE_PROBES)
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
