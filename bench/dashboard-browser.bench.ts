/**
 * The dashboard in Chromium with N real open streams: does the page keep its one update per second,
 * and what do the hub's table pages and event-loop lag look like meanwhile?
 *
 *   npx node bench/dashboard-browser.bench.ts [--streams 10000] [--seconds 10]
 *
 * A hub (createApp) runs in this process; a child process opens N idle SSE streams to it over
 * loopback (raw HTTP/1.1, 100 topics) and holds them. Chromium (Debian's, via playwright-core) opens
 * the dashboard and the bench reports: time to open the streams, time until the page's counter shows
 * them, stats frames the page received per second, `/dashboard/api/connections` response times
 * (the table's page, sorted by age, 50 rows) and the hub's event-loop lag p99 as its own frames
 * report it. The fd limit is 20000 per process, so N stays at or below ~18000.
 */
import { fork } from 'node:child_process'
import { connect } from 'node:net'
import { type App, createApp } from '../packages/lifeline-hub/src/app/app.ts'
import type { StatsFrame } from '../packages/lifeline-hub/src/dashboard/stats-frame.ts'
import { launchChromium } from '../test/helpers/chromium.ts'
import { machineLine } from './lib/machine.ts'

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}

// ---- child: holds the streams ----
if (process.env['LIFELINE_BENCH_CHILD'] === '1') {
  const [host, port, count] = [
    process.env['HOST'] ?? '',
    Number(process.env['PORT']),
    Number(process.env['COUNT']),
  ]
  const BATCH = 500
  let open = 0
  const one = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const socket = connect({ host, port })
      socket.setEncoding('latin1')
      socket.once('error', reject)
      socket.write(
        `GET /events?topic=load-${i % 100} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: bench/${i}\r\n\r\n`,
      )
      socket.once('data', (chunk: string) => {
        if (!chunk.startsWith('HTTP/1.1 200')) reject(new Error(chunk.slice(0, 80)))
        open++
        resolve()
      })
    })
  for (let i = 0; i < count; i += BATCH) {
    await Promise.all(Array.from({ length: Math.min(BATCH, count - i) }, (_, j) => one(i + j)))
  }
  process.send?.({ open })
  // Held until the parent kills this process.
  setInterval(() => {}, 1 << 30)
} else {
  const STREAMS = arg('--streams', 10_000)
  const SECONDS = arg('--seconds', 10)
  console.log(machineLine())
  console.log(`parameters: ${STREAMS} streams over 100 topics, ${SECONDS} s watched`)
  let app: App | undefined
  const browser = await launchChromium()
  const child = { kill: (): void => {} }
  try {
    app = await createApp({ port: 0, host: '127.0.0.1', logLevel: 'silent' })
    const base = new URL(await app.listen())
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } })
    await page.goto(`${base.origin}/`)
    await page.locator('#status[data-state="open"]').waitFor({ timeout: 60_000 })

    const started = performance.now()
    const holder = fork(new URL(import.meta.url), [], {
      env: {
        ...process.env,
        LIFELINE_BENCH_CHILD: '1',
        HOST: base.hostname,
        PORT: base.port,
        COUNT: String(STREAMS),
      },
    })
    child.kill = () => holder.kill('SIGKILL')
    await new Promise<void>((resolve, reject) => {
      holder.once('message', () => resolve())
      holder.once('exit', (code) => reject(new Error(`stream holder exited with ${code}`)))
    })
    const opened = performance.now() - started
    await page.waitForFunction(
      (want) => Number(document.querySelector('#s-connections')?.getAttribute('data-count')) >= want,
      STREAMS + 1,
      { timeout: 60_000 },
    )
    const shown = performance.now() - started

    // Watch: every table response's time, and every stats frame the hub sends (read from a stream of our own).
    const pageTimes: number[] = []
    page.on('requestfinished', (request) => {
      if (!request.url().includes('/dashboard/api/connections')) return
      const t = request.timing()
      pageTimes.push(t.responseEnd - t.requestStart)
    })
    const frames: StatsFrame[] = []
    const res = await fetch(`${base.origin}/dashboard/stats`)
    const reader = res.body?.getReader()
    const decoder = new TextDecoder()
    let buffered = ''
    const deadline = performance.now() + SECONDS * 1000
    while (reader !== undefined && performance.now() < deadline) {
      const { value, done } = await reader.read()
      if (done) break
      buffered += decoder.decode(value, { stream: true })
      let cut = buffered.indexOf('\n\n')
      while (cut >= 0) {
        const block = buffered.slice(0, cut)
        buffered = buffered.slice(cut + 2)
        const data = block.split('\n').find((l) => l.startsWith('data: '))
        if (block.includes('event: stats') && data !== undefined)
          frames.push(JSON.parse(data.slice(6)) as StatsFrame)
        cut = buffered.indexOf('\n\n')
      }
    }
    await reader?.cancel()
    const sorted = [...pageTimes].sort((a, b) => a - b)
    const pct = (p: number): number =>
      sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN
    const lag = frames.map((f) => f.eventLoop.p99Ms).sort((a, b) => a - b)
    console.log(
      `streams open in ${(opened / 1000).toFixed(1)} s; dashboard counter showed them ${((shown - opened) / 1000).toFixed(2)} s later`,
    )
    const gaps = frames.slice(1).map((f, k) => f.time - (frames[k] as StatsFrame).time)
    console.log(
      `stats frames: ${frames.length} in ${SECONDS} s, gap between frames mean ${(gaps.reduce((a, b) => a + b, 0) / Math.max(1, gaps.length)).toFixed(0)} ms, max ${Math.max(0, ...gaps)} ms; frame ${frames.length > 0 ? JSON.stringify(frames[0]).length : 0} bytes`,
    )
    console.log(
      `table pages fetched by the page: ${pageTimes.length}; response ms p50 ${pct(0.5).toFixed(1)}, p95 ${pct(0.95).toFixed(1)}, max ${(sorted.at(-1) ?? Number.NaN).toFixed(1)}`,
    )
    console.log(
      `hub event-loop lag p99 per frame (ms): median ${(lag[Math.floor(lag.length / 2)] ?? Number.NaN).toFixed(1)}, max ${(lag.at(-1) ?? Number.NaN).toFixed(1)}; heap ${((frames.at(-1)?.memory.heapUsedBytes ?? 0) / 2 ** 20).toFixed(0)} MiB`,
    )
    await page.screenshot({ path: 'test-results/dashboard-10k.png' }).catch(() => undefined)
  } finally {
    child.kill()
    await browser.close()
    await app?.close()
  }
}
