/**
 * What it measures: server memory per idle SSE stream and the time to accept them, for the Lifeline
 * server core (createHub + handleNode on node:http) beside a plain node:http SSE server and better-sse
 * (bench/peers), in the same run on the same machine. For each server: RSS with no stream, then with
 * 10k and 18k idle streams open (heartbeat 15 s, nothing published); RSS per stream = (RSS at N - RSS
 * at 0) / N. Accept time: from the go signal until the Nth stream received its first bytes, plus the
 * p50/p99 of connect -> first byte per stream, and the server's CPU time (user + system, /proc) per
 * accepted stream, which stays comparable on a busy machine where wall time does not. Load: client child processes (3), each from its own
 * source address 127.0.0.x, at most 50 connects in flight each (under the listen backlog of 511, so no SYN is dropped). The fd limit here is 20000 per process.
 *
 * Goal: Lifeline's memory per stream <= the plain node:http server's + 20%.
 *
 * Run: ulimit -n 20000; npx node bench/server-memory.bench.ts [--steps 10000,18000] [--rounds 3] [--with-hub]
 *   --rounds N repeats the whole comparison N times in rotated order and reports medians.
 *   --with-hub also measures the full `lifeline serve` hub (auth, metrics, logs) through bench/peers.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { connect, type Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { handleNode } from '../packages/lifeline-sse/src/adapters/node.ts'
import { createHub } from '../packages/lifeline-sse/src/server/hub.ts'
import { machineLine } from './lib/machine.ts'
import { type PeerName, startPeer } from './peers/start.ts'

const self = fileURLToPath(import.meta.url)
const argv = process.argv.slice(2)
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`)
  return i === -1 ? undefined : argv[i + 1]
}

const HEARTBEAT_MS = 15_000
const CLIENTS = 3
const IN_FLIGHT = 50
const SETTLE_MS = 3_000

// ---- child mode: the Lifeline server core ----
async function serveLifeline(): Promise<void> {
  const hub = createHub({ heartbeatMs: HEARTBEAT_MS })
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/events')) handleNode(hub, req, res)
    else if (req.url === '/healthz') res.end('ok')
    else res.writeHead(404).end()
  })
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    console.log(`listening ${typeof address === 'object' && address ? address.port : 0}`)
  })
  process.once('SIGTERM', () => process.exit(0))
}

// ---- child mode: a load client ----
/** Reads `go <count>` lines on stdin, opens that many more streams, answers `done <ms> <p50> <p99> <failed>`. */
async function loadClient(url: string, localAddress: string): Promise<void> {
  const u = new URL(url)
  const request = Buffer.from(
    `GET /events?topic=idle HTTP/1.1\r\nHost: ${u.host}\r\nAccept: text/event-stream\r\n\r\n`,
  )
  const sockets: Socket[] = []
  const openOne = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const started = performance.now()
      const s = connect({ host: u.hostname, port: Number(u.port), localAddress })
      sockets.push(s)
      s.once('connect', () => s.write(request))
      s.once('data', () => {
        resolve(performance.now() - started)
        // Idle from here on: the stream stays open, its heartbeats are read and dropped.
        s.on('data', () => {})
      })
      s.once('error', reject)
    })
  console.log('ready')
  for await (const line of createInterface({ input: process.stdin })) {
    const count = Number(line.split(' ')[1])
    const t0 = performance.now()
    const times: number[] = []
    let failed = 0
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < count) {
        next++
        try {
          times.push(await openOne())
        } catch {
          failed++
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, worker))
    const total = performance.now() - t0
    times.sort((a, b) => a - b)
    const pct = (p: number): number =>
      times[Math.min(times.length - 1, Math.floor((times.length * p) / 100))] ?? 0
    console.log(`done ${total.toFixed(1)} ${pct(50).toFixed(2)} ${pct(99).toFixed(2)} ${failed}`)
  }
}

// ---- orchestrator ----
interface Client {
  child: ChildProcess
  lines: AsyncIterator<string>
}

async function startClient(url: string, localAddress: string): Promise<Client> {
  const child = spawn(process.execPath, [self, '--client', url, '--local', localAddress], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]()
  const first = await lines.next()
  if (first.value !== 'ready') throw new Error(`load client did not start: ${String(first.value)}`)
  return { child, lines }
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m?.[1] ?? Number.NaN)
}

/** CPU time (user + system) the process used so far, ms: robust where wall time is not (a busy machine). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  const CLOCK_TICKS_PER_S = 100
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S
}

interface Step {
  streams: number
  rssKiB: number
  perStreamKiB: number
  acceptMs: number
  /** Server CPU per accepted stream, µs. */
  acceptCpuUs: number
  p50: number
  p99: number
  failed: number
}

async function startServer(name: string): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  if (name !== 'lifeline-core') return startPeer(name as PeerName, { heartbeatMs: HEARTBEAT_MS })
  const child = spawn(process.execPath, [self, '--serve'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]()
  const first = String((await lines.next()).value)
  const port = Number(first.split(' ')[1])
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    stop: async () => {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
    },
  }
}

async function measure(name: string, steps: number[]): Promise<{ base: number; steps: Step[] }> {
  const server = await startServer(name)
  const clients: Client[] = []
  try {
    for (let i = 0; i < CLIENTS; i++) clients.push(await startClient(server.url, `127.0.0.${2 + i}`))
    await new Promise((r) => setTimeout(r, SETTLE_MS))
    const base = rssKiB(server.pid)
    const out: Step[] = []
    let open = 0
    for (const target of steps) {
      const add = target - open
      const per = Math.ceil(add / CLIENTS)
      const t0 = performance.now()
      const cpu0 = cpuMs(server.pid)
      for (const c of clients) c.child.stdin?.write(`go ${per}\n`)
      const results = await Promise.all(
        clients.map(async (c) => String((await c.lines.next()).value).split(' ')),
      )
      const acceptMs = performance.now() - t0
      const acceptCpuUs = ((cpuMs(server.pid) - cpu0) * 1000) / (per * CLIENTS)
      open += per * CLIENTS
      await new Promise((r) => setTimeout(r, SETTLE_MS))
      const rss = rssKiB(server.pid)
      out.push({
        streams: open,
        rssKiB: rss,
        perStreamKiB: (rss - base) / open,
        acceptMs,
        acceptCpuUs,
        p50: Math.max(...results.map((r) => Number(r[2]))),
        p99: Math.max(...results.map((r) => Number(r[3]))),
        failed: results.reduce((n, r) => n + Number(r[4]), 0),
      })
    }
    return { base, steps: out }
  } finally {
    for (const c of clients) c.child.kill('SIGTERM')
    await server.stop()
  }
}

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

async function main(): Promise<void> {
  const steps = (flag('steps') ?? '10000,18000').split(',').map(Number)
  const rounds = Number(flag('rounds') ?? '1')
  const servers = ['lifeline-core', 'node-http', 'better-sse']
  if (argv.includes('--with-hub')) servers.push('lifeline')
  console.log(machineLine())
  console.log(
    `params: steps=${steps.join(',')} rounds=${rounds} clients=${CLIENTS} in-flight=${IN_FLIGHT}/client heartbeat=${HEARTBEAT_MS}ms settle=${SETTLE_MS}ms`,
  )
  const all = new Map<string, Step[][]>(servers.map((n) => [n, []]))
  for (let round = 0; round < rounds; round++) {
    // Rotate the order each round: no server always runs first (or last) on a busy machine.
    const order = servers.map((_, i) => servers[(i + round) % servers.length] as string)
    for (const name of order) {
      const r = await measure(name, steps)
      all.get(name)?.push(r.steps)
      for (const s of r.steps) {
        console.log(
          `round ${round + 1} ${name.padEnd(14)} ${String(s.streams).padStart(6)} streams: RSS ${(s.rssKiB / 1024).toFixed(1)} MiB ` +
            `(base ${(r.base / 1024).toFixed(1)}), ${s.perStreamKiB.toFixed(2)} KiB/stream, accepted in ${s.acceptMs.toFixed(0)} ms, ` +
            `server CPU ${s.acceptCpuUs.toFixed(0)} µs/stream ` +
            `(connect->first byte p50 ${s.p50} ms, p99 ${s.p99} ms), failed ${s.failed}`,
        )
      }
    }
  }
  const med = (name: string, i: number, key: 'perStreamKiB' | 'acceptMs' | 'acceptCpuUs'): number =>
    median((all.get(name) ?? []).map((run) => (run[i] as Step)[key]))
  console.log(`\nmedians over ${rounds} round(s), and ratios to plain node:http:`)
  for (const name of servers) {
    steps.forEach((n, i) => {
      const mem = med(name, i, 'perStreamKiB')
      const acc = med(name, i, 'acceptMs')
      const cpu = med(name, i, 'acceptCpuUs')
      console.log(
        `${name.padEnd(14)} ${String(n).padStart(6)}: ${mem.toFixed(2)} KiB/stream (x${(mem / med('node-http', i, 'perStreamKiB')).toFixed(2)}), ` +
          `accept ${acc.toFixed(0)} ms (x${(acc / med('node-http', i, 'acceptMs')).toFixed(2)}), ` +
          `accept CPU ${cpu.toFixed(0)} µs/stream (x${(cpu / med('node-http', i, 'acceptCpuUs')).toFixed(2)})`,
      )
    })
  }
}

if (argv[0] === '--serve') await serveLifeline()
else if (argv[0] === '--client') await loadClient(argv[1] as string, flag('local') as string)
else await main()
