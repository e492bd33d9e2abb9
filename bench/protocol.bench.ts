/**
 * Protocol throughput: MB/s parsed and encoded, Lifeline against eventsource-parser in the same run.
 *
 *   npm run bench:protocol            (or: npx node bench/protocol.bench.ts [--seconds 2])
 *
 * Streams:
 *   small  - realistic feed: ~90-byte events (id, event, one JSON data line), 16 KiB network chunks
 *   large  - 64 KiB events of 1000 data lines each, 16 KiB chunks
 *   crlf   - the small stream with CRLF line endings and chunks cut at odd sizes (1500 bytes)
 *   long   - one 14 MB event on a single data line, 16 KiB chunks (per-chunk work must not grow with
 *            the unfinished line: a parser that rescans it is quadratic)
 * Each parser is run over the same chunks for a fixed time; the number is input MB per CPU second of
 * this process (1 MB = 10^6 bytes), the median of 5 alternating slices each. "text" feeds already-decoded strings (both parsers
 * take strings); "bytes" includes UTF-8 decoding (ours takes bytes, eventsource-parser gets a
 * streaming TextDecoder in front, as its own stream wrapper does).
 * Encoder: events encoded per second and MB/s of output, against a naive template + TextEncoder.
 */
import { createParser } from 'eventsource-parser'
import { encodeEvent } from '../packages/lifeline-sse/src/protocol/encode.ts'
import { EventStreamParser } from '../packages/lifeline-sse/src/protocol/parse.ts'
import { machineLine } from './lib/machine.ts'
import { type Chunked, longLine, STREAMS } from './lib/sse-streams.ts'

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 1
const ROUNDS = 5
const utf8 = new TextEncoder()

const streams = { small: STREAMS.small(), large: STREAMS.large(), crlf: STREAMS.crlf(), long: longLine() }

let sink = 0
type Runner = (input: Chunked) => void

const runners: Record<string, Runner> = {
  'lifeline text': (input) => {
    const p = new EventStreamParser({ onEvent: (e) => (sink += e.data.length) })
    for (const s of input.strings) p.push(s)
  },
  'eventsource-parser text': (input) => {
    const p = createParser({ onEvent: (e) => (sink += e.data.length) })
    for (const s of input.strings) p.feed(s)
  },
  'lifeline bytes': (input) => {
    const p = new EventStreamParser({ onEvent: (e) => (sink += e.data.length) })
    for (const b of input.bytes) p.push(b)
  },
  'eventsource-parser bytes': (input) => {
    const d = new TextDecoder()
    const p = createParser({ onEvent: (e) => (sink += e.data.length) })
    for (const b of input.bytes) p.feed(d.decode(b, { stream: true }))
  },
}

/** CPU time of this process in ms: unlike wall time, it does not count the time other processes hold the cores. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

/**
 * Runs `a` and `b` in alternating time slices (so a change in machine load hits both alike) and
 * returns each one's median rate in units per CPU second (MB/s when `unitsPerRun` is bytes / 1e6).
 * Rates are per CPU second of this process, so a busy machine (other processes on the cores) skews
 * them less than wall time would; the ratio is what to read.
 */
function measurePair(a: () => void, b: () => void, unitsPerRun: number): [number, number] {
  const rates: [number[], number[]] = [[], []]
  const slice = (seconds * 1000) / ROUNDS / 2
  for (let r = 0; r < ROUNDS * 2; r++) {
    const which = r % 2
    const run = which === 0 ? a : b
    let runs = 0
    const start = performance.now()
    const cpuStart = cpuMs()
    while (performance.now() - start < slice) {
      run()
      runs++
    }
    rates[which]!.push((runs * unitsPerRun) / ((cpuMs() - cpuStart) / 1000))
  }
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!
  return [median(rates[0]), median(rates[1])]
}

console.log('# protocol throughput')
console.log(machineLine())
console.log(`parameters: ${seconds}s per case, median of ${ROUNDS} rounds, MB per CPU second\n`)
console.log('| stream | input | lifeline MB/s | eventsource-parser MB/s | ratio |')
console.log('| --- | --- | ---: | ---: | ---: |')
for (const [name, input] of Object.entries(streams)) {
  for (const mode of ['text', 'bytes'] as const) {
    // Warm up both before measuring either.
    for (let i = 0; i < 3; i++) {
      runners[`lifeline ${mode}`]!(input)
      runners[`eventsource-parser ${mode}`]!(input)
    }
    const [ours, theirs] = measurePair(
      () => runners[`lifeline ${mode}`]!(input),
      () => runners[`eventsource-parser ${mode}`]!(input),
      input.total / 1e6,
    )
    console.log(
      `| ${name} | ${mode} | ${ours.toFixed(0)} | ${theirs.toFixed(0)} | ${(ours / theirs).toFixed(2)}x |`,
    )
  }
}

// Encoder
const payloads = {
  'one line (70 B)': '{"seq":123,"price":168.51,"sym":"ACME","ts":"2026-11-25T03:00:00.000Z"}',
  'multi-line (6 KiB, 100 lines)': Array.from({ length: 100 }, (_, i) => `line ${i} ${'y'.repeat(50)}`).join(
    '\n',
  ),
}
console.log(
  '\n| event | lifeline encodeEvent (events/s, MB/s) | naive template + TextEncoder (events/s) | ratio |',
)
console.log('| --- | ---: | ---: | ---: |')
for (const [name, data] of Object.entries(payloads)) {
  const size = encodeEvent({ data, id: '1700000000000-42', event: 'tick' }).length
  const count = 20_000
  const [ours, naive] = measurePair(
    () => {
      for (let i = 0; i < count; i++)
        sink += encodeEvent({ data, id: '1700000000000-42', event: 'tick' }).length
    },
    () => {
      for (let i = 0; i < count; i++) {
        sink += utf8.encode(
          `id: 1700000000000-42\nevent: tick\ndata: ${data.split('\n').join('\ndata: ')}\n\n`,
        ).length
      }
    },
    count,
  )
  console.log(
    `| ${name} | ${ours.toExponential(2)} ev/s, ${((ours * size) / 1e6).toFixed(0)} MB/s | ${naive.toExponential(2)} ev/s | ${(ours / naive).toFixed(2)}x |`,
  )
}
if (sink === 42) console.log('')
