/**
 * Parser cost in CPU instructions (valgrind callgrind), Lifeline against eventsource-parser: a count,
 * not a time, so it repeats on a busy machine (timed MB/s numbers move with load; this does not).
 *
 *   npx node bench/protocol-instructions.ts [--iterations 20]
 *
 * For each stream (see bench/lib/sse-streams.ts) and parser, a child `node` runs the parse `iterations`
 * times under callgrind; a run that builds the input but parses nothing is subtracted, leaving the
 * instructions spent parsing. Reported: instructions per input byte, and the ratio (below 1: Lifeline
 * spends fewer). The encoder is counted the same way per event, against a naive template that splits
 * on LF only and validates nothing. Needs `valgrind` (Debian package valgrind).
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createParser } from 'eventsource-parser'
import { encodeEvent } from '../packages/lifeline-sse/src/protocol/encode.ts'
import { EventStreamParser } from '../packages/lifeline-sse/src/protocol/parse.ts'
import { machineLine } from './lib/machine.ts'
import { STREAMS } from './lib/sse-streams.ts'

type StreamName = keyof typeof STREAMS
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name)
  return i === -1 ? fallback : process.argv[i + 1]!
}

const PAYLOADS = {
  'encode one line (70 B)': '{"seq":123,"price":168.51,"sym":"ACME","ts":"2026-11-25T03:00:00.000Z"}',
  'encode multi-line (6 KiB)': Array.from({ length: 100 }, (_, i) => `line ${i} ${'y'.repeat(50)}`).join(
    '\n',
  ),
}
type PayloadName = keyof typeof PAYLOADS
const ENCODES_PER_ITERATION = 1000
const utf8 = new TextEncoder()

if (process.argv[2] === '--child' && process.argv[4]! in PAYLOADS) {
  // Encoder: Lifeline's encodeEvent against a naive template (split on LF only, no validation).
  const [, , , which, payload, iterations] = process.argv
  const data = PAYLOADS[payload as PayloadName]
  let sink = 0
  for (let n = 0; n < Number(iterations) * ENCODES_PER_ITERATION; n++) {
    if (which === 'lifeline') sink += encodeEvent({ data, id: '1700000000000-42', event: 'tick' }).length
    else if (which === 'naive') {
      sink += utf8.encode(
        `id: 1700000000000-42\nevent: tick\ndata: ${data.split('\n').join('\ndata: ')}\n\n`,
      ).length
    }
  }
  if (sink < 0) console.log(sink)
} else if (process.argv[2] === '--child') {
  const [, , , which, stream, iterations] = process.argv
  const input = STREAMS[stream as StreamName]()
  let sink = 0
  for (let n = 0; n < Number(iterations); n++) {
    if (which === 'lifeline') {
      const p = new EventStreamParser({ onEvent: (e) => (sink += e.data.length) })
      for (const c of input.bytes) p.push(c)
    } else if (which === 'eventsource-parser') {
      const d = new TextDecoder()
      const p = createParser({ onEvent: (e) => (sink += e.data.length) })
      for (const c of input.bytes) p.feed(d.decode(c, { stream: true }))
    }
  }
  if (sink < 0) console.log(sink)
} else {
  const iterations = arg('--iterations', '20')
  const self = fileURLToPath(import.meta.url)
  const count = (which: string, stream: string): number => {
    const run = spawnSync(
      'valgrind',
      [
        '--tool=callgrind',
        '--callgrind-out-file=/dev/null',
        process.execPath,
        self,
        '--child',
        which,
        stream,
        iterations,
      ],
      { encoding: 'utf8' },
    )
    // callgrind reports on stderr: "==pid== Collected : <instructions>"
    const found = /Collected : (\d+)/.exec(run.stderr)
    if (!found)
      throw new Error(
        `valgrind failed (is the Debian package valgrind installed?): ${run.error ?? run.stderr.slice(-500)}`,
      )
    return Number(found[1])
  }
  console.log('# parser instructions (callgrind), byte input including UTF-8 decoding')
  console.log(machineLine())
  console.log(`parameters: ${iterations} parses of each stream per run\n`)
  console.log(
    '| stream | lifeline instr/byte | eventsource-parser instr/byte | ratio (lifeline / eventsource-parser) |',
  )
  console.log('| --- | ---: | ---: | ---: |')
  for (const stream of Object.keys(STREAMS)) {
    const bytes = STREAMS[stream as StreamName]().total * Number(iterations)
    const base = count('none', stream)
    const ours = (count('lifeline', stream) - base) / bytes
    const theirs = (count('eventsource-parser', stream) - base) / bytes
    console.log(`| ${stream} | ${ours.toFixed(2)} | ${theirs.toFixed(2)} | ${(ours / theirs).toFixed(2)} |`)
  }
  console.log('\n| encoder | lifeline instr/event | naive template instr/event | ratio |')
  console.log('| --- | ---: | ---: | ---: |')
  for (const payload of Object.keys(PAYLOADS)) {
    const events = Number(iterations) * ENCODES_PER_ITERATION
    const base = count('none', payload)
    const ours = (count('lifeline', payload) - base) / events
    const naive = (count('naive', payload) - base) / events
    console.log(`| ${payload} | ${ours.toFixed(0)} | ${naive.toFixed(0)} | ${(ours / naive).toFixed(2)} |`)
  }
}
