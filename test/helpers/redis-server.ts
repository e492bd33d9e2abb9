/**
 * A real redis-server for tests: its own process on a free 127.0.0.1 port, no persistence unless asked
 * (`aof: true` = AOF with `appendfsync always` in a temp dir). Restartable on the same port, so clients
 * see "Redis went away and came back". Never a mock.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface RedisServerOptions {
  /** AOF with `appendfsync always`: every acknowledged write survives a kill. @default false (no persistence). */
  aof?: boolean
  /** ms to wait for PING after a (re)start. @default 10_000 */
  startTimeoutMs?: number
  /** Extra `--name value` arguments. */
  args?: string[]
}

export interface RedisServer {
  readonly port: number
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  /** Kills the process (SIGKILL: a crash, nothing flushed beyond what its settings flushed). */
  kill(): Promise<void>
  /** Starts it again on the same port (same AOF dir); resolves once PING answers. */
  restart(): Promise<void>
  /** Sends one inline command (`INFO persistence`, `CLIENT KILL ...`) and resolves with the raw reply text. */
  command(line: string): Promise<string>
  /** Kills it and deletes its temp dir. Safe to call twice. */
  stop(): Promise<void>
}

const INSTALL_HINT =
  'redis-server is not on PATH: install it with `apt-get install -y redis-server` (or run scripts/ensure-test-deps.sh)'

async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  server.close()
  await once(server, 'close')
  return port
}

/** One inline command over a fresh socket; resolves with what Redis answered (up to a short pause). */
function rawCommand(port: number, line: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let reply = ''
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`redis-server on ${port} did not answer "${line}" within ${timeoutMs} ms`))
    }, timeoutMs)
    socket.setEncoding('utf8')
    socket.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    socket.on('connect', () => socket.write(`${line}\r\n`))
    socket.on('data', (chunk: string) => {
      reply += chunk
      // A reply is complete at its final CRLF; bulk replies ($n) need their body too.
      const bulk = /^\$(\d+)\r\n/.exec(reply)
      const done = bulk ? reply.length >= bulk[0].length + Number(bulk[1]) + 2 : reply.endsWith('\r\n')
      if (done) {
        clearTimeout(timer)
        socket.end()
        resolve(reply)
      }
    })
  })
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  if (spawnSync('redis-server', ['--version']).error) throw new Error(INSTALL_HINT)
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'lifeline-redis-'))
  const startTimeoutMs = options.startTimeoutMs ?? 10_000
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--dir',
    dir,
    '--maxmemory-policy',
    'noeviction',
    ...(options.aof === true ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    ...(options.args ?? []),
  ]
  let child: ChildProcess | undefined
  let stderr = ''

  async function launch(): Promise<void> {
    stderr = ''
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] })
    child = proc
    proc.stderr?.setEncoding('utf8')
    proc.stderr?.on('data', (chunk: string) => {
      stderr += chunk
    })
    const deadline = Date.now() + startTimeoutMs
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(
          `redis-server exited (${proc.exitCode ?? proc.signalCode}) on port ${port}: ${stderr}`,
        )
      }
      try {
        // Up: PONG, or NOAUTH when it was started with --requirepass.
        if (/^(\+PONG|-NOAUTH)/.test(await rawCommand(port, 'PING', 500))) return
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        // Never leave a half-started server behind.
        await kill()
        throw new Error(
          `redis-server on port ${port} did not answer PING within ${startTimeoutMs} ms: ${stderr}`,
        )
      }
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  async function kill(): Promise<void> {
    const proc = child
    child = undefined
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return
    const exited = once(proc, 'exit')
    proc.kill('SIGKILL')
    await exited
  }

  try {
    await launch()
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
  let stopped = false
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    async restart() {
      await kill()
      await launch()
    },
    command: (line) => rawCommand(port, line),
    async stop() {
      if (stopped) return
      stopped = true
      await kill()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/**
 * A single-node Redis Cluster: cluster mode on, this node owning all 16384 slots, resolved once
 * `CLUSTER INFO` says `cluster_state:ok` (asserted within `deadlineMs`, default 15 s, counted from
 * the slot assignment).
 */
export async function startRedisCluster(deadlineMs = 15_000): Promise<RedisServer> {
  const redis = await startRedisServer({
    args: [
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      'nodes.conf',
      '--cluster-announce-ip',
      '127.0.0.1',
    ],
  })
  try {
    assert.match(await redis.command('CLUSTER ADDSLOTSRANGE 0 16383'), /^\+OK/)
    // A lone node owning every slot turns `ok` within a moment; poll CLUSTER INFO with the deadline.
    const deadline = Date.now() + deadlineMs
    while (!(await redis.command('CLUSTER INFO')).includes('cluster_state:ok')) {
      assert.ok(Date.now() < deadline, 'cluster_state:ok in time')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  } catch (err) {
    await redis.stop()
    throw err
  }
  return redis
}
