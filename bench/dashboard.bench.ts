/**
 * Dashboard cost at scale: what one stats sample and one page of the connection table cost the hub
 * with N open streams, against the naive design (send every connection row every second).
 *
 *   npx node bench/dashboard.bench.ts [--sizes 1000,10000,50000] [--rounds 20]
 *
 * Streams are real hub connections (createHub + hub.open) on an in-memory sink (no sockets: the
 * fd limit here is 20000 per process, and the cost measured is the hub's, not the kernel's), spread
 * over 100 topics. For each N it reports the median over `rounds` of:
 *   sample      one StatsSampler tick: hub.stats(), one pass over hub.connections(), topicCounts()
 *               sorted, memoryUsage(), JSON.stringify of the frame (what each second costs)
 *   frame       bytes of that frame (the same for every watcher; independent of N)
 *   page        one `/dashboard/api/connections` answer: filter + sort by bytes + 50 rows + JSON
 *   naive       JSON.stringify(hub.connections()) (a design that ships every row every second)
 * and the ratios naive/sample (CPU) and naive/frame (bytes).
 */
import { queryConnections } from '../packages/lifeline-hub/src/dashboard/connection-query.ts'
import { StatsSampler } from '../packages/lifeline-hub/src/dashboard/stats-sampler.ts'
import { createHub } from '../packages/lifeline-sse/src/server/index.ts'
import type { SinkListener, StreamSink } from '../packages/lifeline-sse/src/server/types.ts'
import { machineLine } from './lib/machine.ts'

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name)
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback
}

const SIZES = arg('--sizes', '1000,10000,50000').split(',').map(Number)
const ROUNDS = Number(arg('--rounds', '20'))
const TOPICS = 100

/** Accepts every byte at once: the hub's bookkeeping runs, no socket is involved. */
class MemorySink implements StreamSink {
  open(): void {}
  attach(_listener: SinkListener): void {}
  write(): boolean {
    return true
  }
  bufferedBytes(): number {
    return 0
  }
  end(done: () => void): void {
    done()
  }
  destroy(): void {}
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

function time(fn: () => void): number[] {
  const out: number[] = []
  fn() // warm-up
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now()
    fn()
    out.push(performance.now() - start)
  }
  return out
}

console.log(machineLine())
console.log(`parameters: sizes ${SIZES.join(', ')}; ${TOPICS} topics; median of ${ROUNDS} rounds`)
console.log(
  'streams | sample ms | frame B | page ms | naive ms | naive B | naive/sample CPU | naive/frame bytes',
)

for (const size of SIZES) {
  const hub = createHub({ heartbeatMs: 0 })
  for (let i = 0; i < size; i++) {
    const result = hub.open(new MemorySink(), {
      topics: [`topic-${i % TOPICS}`, ...(i % 7 === 0 ? ['news'] : [])],
      remoteAddress: `10.0.${(i >> 8) & 255}.${i & 255}`,
      userAgent:
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
    })
    if (!result.ok) throw new Error(`stream ${i} refused: ${result.rejection.reason}`)
  }
  for (let i = 0; i < 200; i++) await hub.publish(`topic-${i % TOPICS}`, { data: `event ${i}` })
  let frameBytes = 0
  const sampler = new StatsSampler({
    hub,
    onFrame: (frame) => {
      frameBytes = Buffer.byteLength(JSON.stringify(frame))
    },
  })
  const sample = median(time(() => sampler.tick()))
  const page = median(
    time(() => {
      JSON.stringify(
        queryConnections(
          hub.connections(),
          { topic: '', sort: 'bytes', order: 'desc', offset: 0, limit: 50 },
          Date.now(),
        ),
      )
    }),
  )
  let naiveBytes = 0
  const naive = median(
    time(() => {
      naiveBytes = Buffer.byteLength(JSON.stringify(hub.connections()))
    }),
  )
  console.log(
    [
      size,
      sample.toFixed(2),
      frameBytes,
      page.toFixed(2),
      naive.toFixed(2),
      naiveBytes,
      `${(naive / sample).toFixed(1)}x`,
      `${Math.round(naiveBytes / frameBytes)}x`,
    ].join(' | '),
  )
  sampler.stop()
  await hub.close()
}
