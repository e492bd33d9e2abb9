/**
 * Durable Streams: Lifeline's hub (`/v1/stream/`, memory store) against the protocol's Node reference
 * server (@durable-streams/server, memory mode), each a child process, in the same run, with the same
 * load tool (this file).
 *
 *   npx node -C lifeline-source bench/streams.bench.ts                  (5 s per phase)
 *   npx node -C lifeline-source bench/streams.bench.ts --seconds 10 --readers 1000
 *
 * Phases, per server:
 *   appends   50 keep-alive connections, each appending 64-byte text/plain bodies to its own stream
 *             as fast as the server acknowledges: acknowledged appends per second.
 *   delivery  `--readers` (default 1000) SSE readers (`?offset=now&live=sse`) of one stream; one
 *             writer appends 20 times a second, each body carrying its send time (the shared
 *             monotonic clock of this machine: performance.timeOrigin + performance.now()); each
 *             reader records append -> received latency: p50 and p99 over every delivery, and the
 *             share of the expected deliveries that arrived.
 * The load runs in this process (one event loop for the readers: both servers pay the same client
 * overhead). Loopback only; both servers are stopped at the end. Results are ratios within one run:
 * on a shared 2-core machine absolute numbers move from run to run.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { Agent, request } from 'node:http'
import { type AddressInfo, createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { machineLine } from './lib/machine.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
const SECONDS = arg('seconds', 5)
const READERS = arg('readers', 1000)
const CONNECTIONS = 50
const RATE = 20
const PAYLOAD = 'x'.repeat(64)

interface Server {
  name: string
  url: string
  child: ChildProcess
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  server.close()
  await once(server, 'close')
  return port
}

/** Starts a server on a free port and waits until it answers HTTP. */
async function start(name: string, cmd: string[]): Promise<Server> {
  const port = await freePort()
  const child = spawn(process.execPath, [...cmd, '--port', String(port)], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 20_000
  for (;;) {
    const up = await fetch(`${url}/`).then(
      () => true,
      () => false,
    )
    if (up) break
    if (Date.now() > deadline) throw new Error(`${name} did not start in 20 s`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return { name, url, child }
}

async function stop(s: Server): Promise<void> {
  s.child.kill('SIGTERM')
  const timer = setTimeout(() => s.child.kill('SIGKILL'), 5_000)
  await once(s.child, 'exit')
  clearTimeout(timer)
}

function send(
  agent: Agent,
  url: string,
  method: string,
  body: string | undefined,
  headers: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method, agent, headers: { 'content-type': 'text/plain', ...headers } },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

async function appends(s: Server): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS })
  const run = Date.now().toString(36)
  const streams = Array.from({ length: CONNECTIONS }, (_, i) => `${s.url}/v1/stream/bench-append-${run}-${i}`)
  for (const u of streams) await send(agent, u, 'PUT', undefined)
  let acked = 0
  const end = performance.now() + SECONDS * 1000
  await Promise.all(
    streams.map(async (u) => {
      while (performance.now() < end) {
        const status = await send(agent, u, 'POST', PAYLOAD)
        if (status === 204 || status === 200) acked++
      }
    }),
  )
  agent.destroy()
  return acked / SECONDS
}

interface Delivery {
  p50: number
  p99: number
  delivered: number
  expected: number
}

async function delivery(s: Server): Promise<Delivery> {
  const stream = `${s.url}/v1/stream/bench-fanout-${Date.now().toString(36)}`
  const writer = new Agent({ keepAlive: true, maxSockets: 1 })
  await send(writer, stream, 'PUT', undefined)
  const latencies: number[] = []
  const readers: (() => void)[] = []
  let connected = 0
  const opening: Promise<void>[] = []
  for (let i = 0; i < READERS; i++) {
    opening.push(
      new Promise<void>((resolve, reject) => {
        const req = request(`${stream}?offset=now&live=sse`, { agent: false }, (res) => {
          connected++
          resolve()
          let buffer = ''
          res.setEncoding('utf8').on('data', (chunk: string) => {
            buffer += chunk
            let cut = buffer.indexOf('\n\n')
            while (cut !== -1) {
              const block = buffer.slice(0, cut)
              buffer = buffer.slice(cut + 2)
              if (block.includes('event: data') || block.includes('event:data')) {
                const now = performance.timeOrigin + performance.now()
                for (const m of block.matchAll(/t=(\d+\.?\d*)/g)) latencies.push(now - Number(m[1]))
              }
              cut = buffer.indexOf('\n\n')
            }
          })
        })
        req.on('error', reject)
        req.end()
        readers.push(() => req.destroy())
      }),
    )
    // Opened in small batches: 1000 connects at once would measure the accept queue, not delivery.
    if (i % 100 === 99) await Promise.all(opening.slice(-100))
  }
  await Promise.all(opening)
  await new Promise((r) => setTimeout(r, 500))
  let sent = 0
  const total = RATE * SECONDS
  for (let i = 0; i < total; i++) {
    const t = performance.timeOrigin + performance.now()
    await send(writer, stream, 'POST', `t=${t.toFixed(3)};`)
    sent++
    await new Promise((r) => setTimeout(r, 1000 / RATE))
  }
  await new Promise((r) => setTimeout(r, 2_000))
  for (const close of readers) close()
  writer.destroy()
  latencies.sort((a, b) => a - b)
  const pick = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN
  return { p50: pick(0.5), p99: pick(0.99), delivered: latencies.length, expected: sent * connected }
}

const ours = [
  '-C',
  'lifeline-source',
  'packages/lifeline-hub/src/cli/main.ts',
  'serve',
  '--host',
  '127.0.0.1',
  '--log-level',
  'warn',
]
const servers: [string, string[]][] = [
  ['lifeline', ours],
  ['@durable-streams/server', ['bench/peers/durable-reference.ts']],
]
const rows: string[] = []
console.log(machineLine())
for (const [name, cmd] of servers) {
  const s = await start(name, cmd)
  try {
    const perSecond = await appends(s)
    const d = await delivery(s)
    const row = `| ${name} | ${Math.round(perSecond)} | ${d.p50.toFixed(1)} | ${d.p99.toFixed(1)} | ${((100 * d.delivered) / Math.max(1, d.expected)).toFixed(1)}% |`
    console.log(row)
    rows.push(row)
  } finally {
    await stop(s)
  }
}
console.log(
  `\n| server | appends/s (${CONNECTIONS} connections) | SSE p50 ms (${READERS} readers) | SSE p99 ms | delivered |\n| --- | --- | --- | --- | --- |\n${rows.join('\n')}`,
)
