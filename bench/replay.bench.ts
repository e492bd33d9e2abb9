/**
 * Replay amplification: the hub's history is filled with 64 events of ~1 MB (64 MiB,
 * the default byte cap), then N clients resume from the oldest kept id and never read. Measures
 * `/healthz` latency from a separate client probing every 20 ms (fresh connection each time, as a load
 * balancer would) from the first resume until every resumer was cut (write timeout), and the hub's
 * RSS (`/proc/<pid>/status` VmRSS, sampled every 100 ms): after the history was filled, and the peak.
 * The same with `--history-file`. Before replays were paced (commit b923c8e): 10 resumers made /healthz wait 7.3 s
 * (RSS 263 -> 526 MB), 100 made it wait 84 s.
 *
 * Run:   npm run bench:replay -- [--resumers 0,100] [--events 64] [--store memory,file] [--spread] [--json]
 * (--spread: resumer i resumes from the i-th id, so the replays share no event: the worst case for memory.)
 * (0 resumers is the baseline of the same run: /healthz on this machine with nothing replaying.)
 * The hub is `lifeline serve` in a child process with its defaults (max-buffered 1 MiB, write timeout
 * 10 s, max-body 1 MiB). Load stays on loopback; at most `resumers` + 1 sockets.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { describeMachine } from '../packages/lifeline-hub/src/loadtool/machine.ts'
import { startPeer } from './peers/start.ts'

const PROBE_MS = 20
const EVENT_CHARS = 1_000_000

type Result = {
  store: string
  resumers: number
  events: number
  healthz: { probes: number; failures: number; p50: number; p99: number; max: number }
  rssAfterHistoryMiB: number
  rssPeakMiB: number
  cutWithinMs: number | null
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return kb / 1024
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number
}

async function publish(url: string, data: string): Promise<string> {
  const res = await fetch(`${url}/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ topic: 'feed', data }),
  })
  if (res.status !== 201) throw new Error(`publish: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { id: string }).id
}

/** A stream that resumes after `id` and never reads (its socket is paused). */
function stalled(port: number, id: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.write(`GET /events?topic=feed HTTP/1.1\r\nHost: 127.0.0.1\r\nLast-Event-ID: ${id}\r\n\r\n`)
      s.pause()
      resolve(s)
    })
    s.on('error', () => {})
    s.once('error', reject)
  })
}

/** One `GET /healthz` on a fresh connection: status, total ms, and ms until the TCP connect. */
function healthz(port: number): Promise<{ status: number; ms: number; connectMs: number }> {
  const t0 = performance.now()
  return new Promise((resolve) => {
    let connectMs = -1
    let text = ''
    const s = connect({ host: '127.0.0.1', port }, () => {
      connectMs = performance.now() - t0
      s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')
    })
    const done = (status: number) => {
      clearTimeout(timer)
      s.destroy()
      resolve({ status, ms: performance.now() - t0, connectMs })
    }
    const timer = setTimeout(() => done(0), 30_000)
    s.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1')
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text)
      if (m !== null) done(Number(m[1]))
    })
    s.on('error', () => done(0))
  })
}

/** Streams open now, or -1 when the hub did not answer (it may be stalled: poll again). */
async function connectionsOpen(url: string): Promise<number> {
  try {
    const res = await fetch(`${url}/api/connections?limit=1`, { signal: AbortSignal.timeout(30_000) })
    const body = (await res.json()) as { total?: number; connections?: unknown[] }
    return body.total ?? body.connections?.length ?? 0
  } catch {
    return -1
  }
}

export async function runReplay(
  store: 'memory' | 'file',
  resumers: number,
  events: number,
  spread = false,
): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-replay-bench-'))
  const extraArgs = store === 'file' ? ['--history-file', join(dir, 'history.db')] : []
  const peer = await startPeer('lifeline', {
    extraArgs,
    stderr: process.env.REPLAY_DEBUG ? 'inherit' : 'ignore',
  })
  const sockets: Socket[] = []
  try {
    const ids: string[] = []
    for (let i = 0; i < events; i++) {
      ids.push(await publish(peer.url, `${String(i).padStart(4, '0')}${'x'.repeat(EVENT_CHARS - 4)}`))
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
    const rssAfterHistoryMiB = rssMiB(peer.pid)
    let rssPeakMiB = rssAfterHistoryMiB
    const sampler = setInterval(() => {
      rssPeakMiB = Math.max(rssPeakMiB, rssMiB(peer.pid))
    }, 100)

    let start = performance.now()
    const latencies: number[] = []
    let failures = 0
    let probing = true
    const probe = (async () => {
      while (probing) {
        const t0 = performance.now()
        const answer = await healthz(peer.port)
        if (answer.status === 200) latencies.push(answer.ms)
        else failures++
        if (process.env.REPLAY_DEBUG && (answer.ms > 300 || answer.status !== 200)) {
          console.error(
            `probe at +${Math.round(t0 - start)} ms: ${answer.status} in ${Math.round(answer.ms)} ms (connected after ${Math.round(answer.connectMs)} ms)`,
          )
        }
        const left = PROBE_MS - (performance.now() - t0)
        if (left > 0) await new Promise((resolve) => setTimeout(resolve, left))
      }
    })()

    start = performance.now()
    // `spread`: each resumer from another id, so no two replay the same event first (no sharing).
    const opening: Promise<Socket>[] = []
    for (let i = 0; i < resumers; i++) {
      opening.push(stalled(peer.port, ids[spread ? i % (ids.length - 1) : 0] as string))
    }
    sockets.push(...(await Promise.all(opening)))
    // Every resumer is cut by the write timeout (10 s) once its socket stops taking bytes.
    let cutWithinMs: number | null = null
    const deadline = start + 60_000
    await new Promise((resolve) => setTimeout(resolve, 1000))
    // Baseline run: probe as long as the write timeout would have taken.
    if (resumers === 0) await new Promise((resolve) => setTimeout(resolve, 10_000))
    while (performance.now() < deadline) {
      if ((await connectionsOpen(peer.url)) === 0) {
        cutWithinMs = Math.round(performance.now() - start)
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    probing = false
    await probe
    clearInterval(sampler)
    latencies.sort((a, b) => a - b)
    return {
      store,
      resumers,
      events,
      healthz: {
        probes: latencies.length,
        failures,
        p50: Math.round(percentile(latencies, 50) * 10) / 10,
        p99: Math.round(percentile(latencies, 99) * 10) / 10,
        max: Math.round((latencies.at(-1) ?? 0) * 10) / 10,
      },
      rssAfterHistoryMiB: Math.round(rssAfterHistoryMiB),
      rssPeakMiB: Math.round(rssPeakMiB),
      cutWithinMs,
    }
  } finally {
    for (const s of sockets) s.destroy()
    await peer.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      resumers: { type: 'string', default: '0,100' },
      events: { type: 'string', default: '64' },
      store: { type: 'string', default: 'memory,file' },
      spread: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  })
  const results: Result[] = []
  for (const store of (values.store ?? '').split(',') as ('memory' | 'file')[]) {
    for (const n of (values.resumers ?? '').split(',')) {
      results.push(await runReplay(store, Number(n), Number(values.events), values.spread))
    }
  }
  if (values.json) console.log(JSON.stringify({ machine: describeMachine(), results }, null, 2))
  else {
    console.log(describeMachine())
    console.log(
      '| store | resumers | /healthz probes | p50 ms | p99 ms | max ms | failures | RSS after history MiB | RSS peak MiB | all cut within ms |',
    )
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
    for (const r of results) {
      const h = r.healthz
      console.log(
        `| ${r.store} | ${r.resumers} | ${h.probes} | ${h.p50} | ${h.p99} | ${h.max} | ${h.failures} | ${r.rssAfterHistoryMiB} | ${r.rssPeakMiB} | ${r.cutWithinMs ?? 'not within 60 s'} |`,
      )
    }
  }
}
