/**
 * What it measures: memory per idle SSE stream in the reverse proxy (nginx, HAProxy, Caddy, each with
 * its shipped deploy/ config rendered by deploy/render.sh) and in the hub behind it, beside the hub
 * with no proxy, in the same run on the same machine. For each path: RSS of the proxy's processes
 * (nginx master + workers) and of the hub, before and after N idle streams are open through it
 * (heartbeat 15 s, nothing published); per stream = (RSS at N - RSS at 0) / N. Streams are raw HTTP/1.1
 * requests from this process, at most 200 connecting at once; loopback only.
 *
 * Run: npx node bench/proxies.bench.ts [--streams 2000]
 * Results and the rerun command: docs/benchmarks/proxies.md. Sizing: docs/operations.md section 5.
 */
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import {
  ensureTool,
  type RunningHub,
  type RunningProxy,
  startCaddy,
  startHaproxy,
  startHub,
  startNginx,
} from '../test/helpers/proxies.ts'
import { machineLine } from './lib/machine.ts'

const argv = process.argv.slice(2)
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`)
  return i === -1 ? undefined : argv[i + 1]
}
const STREAMS = Number(flag('streams') ?? 2000)
const IN_FLIGHT = 200
const SETTLE_MS = 2_000
const KIB = 1024

/** RSS in bytes of a process and all its descendants (nginx workers are the master's children). */
function treeRss(pid: number): number {
  let total = 0
  const visit = (p: number): void => {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8')
      const kb = /VmRSS:\s+(\d+) kB/.exec(status)
      total += kb ? Number(kb[1]) * KIB : 0
      const children = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim()
      for (const child of children ? children.split(/\s+/) : []) visit(Number(child))
    } catch {
      // the process ended between reads
    }
  }
  visit(pid)
  return total
}

let cut = 0
/** Sockets this bench closed itself (their close is not a cut). */
const closedByUs = new WeakSet<Socket>()

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Opens one stream; resolves once response bytes arrived. */
function openRaw(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.write(
        `GET /events?topic=bench HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n`,
      )
    })
    socket.once('data', (chunk: Buffer) => {
      if (!chunk.toString('latin1').startsWith('HTTP/1.1 200')) {
        reject(new Error(`stream refused: ${chunk.toString('latin1').split('\r\n')[0]}`))
        return
      }
      socket.on('data', () => {})
      // A stream cut while open is counted; the run fails below if any were.
      socket.on('error', () => {})
      socket.on('close', () => {
        if (!closedByUs.has(socket)) cut++
      })
      resolve(socket)
    })
  })
}

async function openMany(port: number, count: number): Promise<Socket[]> {
  const sockets: Socket[] = []
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < count) {
      next++
      sockets.push(await openRaw(port))
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane))
  return sockets
}

interface Row {
  path: string
  proxyPerStream: number | undefined
  hubPerStream: number
  proxyAtN: number | undefined
}

async function measure(path: string, hub: RunningHub, proxy: RunningProxy | undefined): Promise<Row> {
  const port = proxy?.port ?? hub.port
  await sleep(SETTLE_MS)
  const hub0 = treeRss(hub.pid)
  const proxy0 = proxy ? treeRss(proxy.pid) : 0
  const sockets = await openMany(port, STREAMS)
  await sleep(SETTLE_MS)
  const hubN = treeRss(hub.pid)
  const proxyN = proxy ? treeRss(proxy.pid) : 0
  // The streams must really be on the hub (a proxy that answered them itself would measure nothing).
  const metrics = await (await fetch(`${hub.url}/metrics`)).text()
  const onHub = Number(/^lifeline_connections (\d+)/m.exec(metrics)?.[1] ?? -1)
  if (onHub < STREAMS) throw new Error(`${path}: only ${onHub} of ${STREAMS} streams reached the hub`)
  if (cut > 0) throw new Error(`${path}: ${cut} streams were cut while open`)
  for (const socket of sockets) {
    closedByUs.add(socket)
    socket.destroy()
  }
  return {
    path,
    proxyPerStream: proxy ? (proxyN - proxy0) / STREAMS : undefined,
    hubPerStream: (hubN - hub0) / STREAMS,
    proxyAtN: proxy ? proxyN : undefined,
  }
}

async function main(): Promise<void> {
  for (const tool of ['nginx', 'haproxy', 'caddy'] as const) ensureTool(tool)
  console.log(machineLine())
  console.log(`parameters: ${STREAMS} idle streams per path, heartbeat 15 s, ${IN_FLIGHT} connecting at once`)
  const rows: Row[] = []
  const starts: Array<[string, ((hub: RunningHub) => Promise<RunningProxy>) | undefined]> = [
    ['direct (no proxy)', undefined],
    ['nginx', (hub) => startNginx({ upstreams: [hub.address], workerConnections: STREAMS * 3 + 1000 })],
    [
      'HAProxy',
      (hub) => startHaproxy({ upstreams: [hub.address], vars: { MAXCONN: String(STREAMS * 2 + 100) } }),
    ],
    ['Caddy', (hub) => startCaddy({ upstreams: [hub.address] })],
  ]
  for (const [path, start] of starts) {
    // A fresh hub per path, so one path's freed memory does not hide the next one's growth.
    const hub = await startHub(['--trust-proxy', '127.0.0.1'])
    const proxy = start ? await start(hub) : undefined
    process.stderr.write(`measuring ${path}...\n`)
    try {
      rows.push(await measure(path, hub, proxy))
    } catch (error) {
      if (proxy) process.stderr.write(`${path} log:\n${(await proxy.log()).slice(-2000)}\n`)
      throw error
    } finally {
      await proxy?.close()
      await hub.close()
    }
  }
  const nginxRow = rows.find((r) => r.path === 'nginx')
  console.log('')
  console.log('| path | proxy RSS per stream | proxy RSS at N | vs nginx | hub RSS per stream |')
  console.log('| --- | --- | --- | --- | --- |')
  for (const r of rows) {
    const per = r.proxyPerStream === undefined ? '-' : `${(r.proxyPerStream / KIB).toFixed(1)} KiB`
    const atN = r.proxyAtN === undefined ? '-' : `${(r.proxyAtN / 2 ** 20).toFixed(1)} MiB`
    const ratio =
      r.proxyPerStream === undefined || !nginxRow?.proxyPerStream
        ? '-'
        : `${(r.proxyPerStream / nginxRow.proxyPerStream).toFixed(2)}x`
    console.log(`| ${r.path} | ${per} | ${atN} | ${ratio} | ${(r.hubPerStream / KIB).toFixed(1)} KiB |`)
  }
}

await main()
