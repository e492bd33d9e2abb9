/**
 * Starts any peer SSE server (or the Lifeline hub) as a child process with the uniform interface of
 * bench/peers/common.ts, waits until it serves, and stops it. Used by bench/compare.ts, the storm and
 * soak benches, and other engineers' benches:
 *
 *   import { startPeer } from '../bench/peers/start.ts'
 *   const peer = await startPeer('node-http')        // { name, url, port, pid, stop() }
 *   ... GET `${peer.url}/events?topic=T`, POST `${peer.url}/publish` ...
 *   await peer.stop()
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')

export const PEER_NAMES = ['lifeline', 'node-http', 'better-sse', 'hono', 'gin'] as const
/** Every peer, with `lifeline-lib` (the library on node:http, for the in-process publisher of bench/turns.bench.ts). */
export const ALL_PEERS = [...PEER_NAMES, 'lifeline-lib'] as const
export type PeerName = (typeof ALL_PEERS)[number]

export type PeerOptions = {
  /** Port to listen on. @default a free ephemeral port. */
  port?: number
  /** Heartbeat interval in ms, passed as `--heartbeat`. @default the server's own (15 s). */
  heartbeatMs?: number
  /** Extra command-line arguments (e.g. Lifeline's `--write-timeout 2s`). */
  extraArgs?: string[]
  /** How long to wait for the server to serve, in ms. @default 20_000. */
  startTimeoutMs?: number
  /** Where the child's stderr goes. @default 'ignore' ('inherit' to debug). */
  stderr?: 'ignore' | 'inherit'
}

export type RunningPeer = {
  name: PeerName
  url: string
  port: number
  pid: number
  child: ChildProcess
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process has exited. */
  stop(): Promise<void>
}

/** The command line that starts a peer, as documented in bench/peers/README.md. */
export function peerCommand(name: PeerName, port: number, options: PeerOptions = {}): [string, string[]] {
  const args = ['--port', String(port)]
  if (name === 'lifeline') {
    const hub = [
      join(root, 'packages', 'lifeline-hub', 'src', 'cli', 'main.ts'),
      'serve',
      '--host',
      '127.0.0.1',
      '--log-level',
      'warn',
      ...args,
    ]
    if (options.heartbeatMs !== undefined) hub.push('--heartbeat', `${options.heartbeatMs}ms`)
    return [process.execPath, [...hub, ...(options.extraArgs ?? [])]]
  }
  if (options.heartbeatMs !== undefined) args.push('--heartbeat', String(options.heartbeatMs))
  args.push(...(options.extraArgs ?? []))
  if (name === 'gin') return [ginBinary(), args]
  return [process.execPath, [join(here, `${name}.ts`), ...args]]
}

/** The Go/Gin peer's binary, built on first use with bench/peers/build-gin.sh. */
export function ginBinary(): string {
  const binary = join(here, 'gin', 'gin-peer')
  if (!existsSync(binary)) execFileSync('bash', [join(here, 'build-gin.sh')], { stdio: 'inherit' })
  return binary
}

/** A free TCP port on 127.0.0.1 (bound and released: good enough on a machine we control). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

export async function startPeer(name: PeerName, options: PeerOptions = {}): Promise<RunningPeer> {
  const port = options.port ?? (await freePort())
  const [command, args] = peerCommand(name, port, options)
  const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', options.stderr ?? 'ignore'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000)
  let announced = false
  child.stdout?.on('data', (chunk: Buffer) => {
    if (chunk.toString('utf8').includes('listening')) announced = true
  })
  child.stdout?.resume()
  let failed = false
  child.once('exit', () => {
    failed = true
  })
  // Ready when it printed `listening <port>` or, for a server that logs otherwise, answers /healthz.
  while (!announced) {
    if (failed) throw new Error(`peer ${name} exited before serving (${command} ${args.join(' ')})`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`peer ${name} did not serve within ${options.startTimeoutMs ?? 20_000} ms`)
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })
      await res.body?.cancel()
      if (res.ok) break
    } catch {
      // Not listening yet: poll again.
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
  return { name, url, port, pid: child.pid ?? 0, child, stop }
}
