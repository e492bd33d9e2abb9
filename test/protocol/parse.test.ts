import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createParser } from 'eventsource-parser'
import fc from 'fast-check'
import { LifelineError } from '../../packages/lifeline-sse/src/protocol/errors.ts'
import {
  DEFAULT_MAX_EVENT_LENGTH,
  EventStreamParser,
} from '../../packages/lifeline-sse/src/protocol/parse.ts'
import type { ParsedEvent } from '../../packages/lifeline-sse/src/protocol/types.ts'

interface Seen {
  events: ParsedEvent[]
  retries: number[]
  comments: string[]
  parser: EventStreamParser
}

function parser(lastEventId?: string): Seen {
  const seen: Omit<Seen, 'parser'> = { events: [], retries: [], comments: [] }
  const p = new EventStreamParser(
    {
      onEvent: (e) => seen.events.push(e),
      onRetry: (ms) => seen.retries.push(ms),
      onComment: (c) => seen.comments.push(c),
    },
    lastEventId === undefined ? {} : { lastEventId },
  )
  return { ...seen, parser: p }
}

/** Feeds the chunks in order and returns what was dispatched. */
function parse(...chunks: (string | Uint8Array)[]): Seen {
  const s = parser()
  for (const c of chunks) s.parser.push(c)
  return s
}

const bytes = (s: string) => new TextEncoder().encode(s)
const msg = (data: string, lastEventId = '', type = 'message'): ParsedEvent => ({ type, data, lastEventId })

describe('parser: lines and dispatch', () => {
  test('a data line followed by a blank line dispatches a message', () => {
    assert.deepEqual(parse('data: hello\n\n').events, [msg('hello')])
  })

  test('LF, CR and CRLF all end lines', () => {
    assert.deepEqual(parse('data: a\n\ndata: b\r\rdata: c\r\n\r\n').events, [msg('a'), msg('b'), msg('c')])
  })

  test('a CR that ends a chunk ends the line at once, without waiting for the next chunk', () => {
    const s = parser()
    s.parser.push('data: now\r')
    s.parser.push('\r')
    assert.deepEqual(s.events, [msg('now')], 'dispatched on the second CR, no third chunk needed')
  })

  test('an LF that starts the chunk after a CR belongs to that CR (CRLF split across chunks)', () => {
    const s = parser()
    s.parser.push('data: a\r')
    s.parser.push('\ndata: b\r')
    s.parser.push('\n\r\n')
    assert.deepEqual(s.events, [msg('a\nb')], 'the split CRLF is one line break, not a blank line')
  })

  test('CRLF split across chunks with an empty chunk between keeps the pending CR', () => {
    const s = parser()
    s.parser.push('data: x\r')
    s.parser.push('')
    s.parser.push(new Uint8Array(0))
    s.parser.push('\n\n')
    assert.deepEqual(s.events, [msg('x')])
  })

  test('one optional space after the colon is removed, and only one', () => {
    assert.deepEqual(parse('data:a\n\ndata: b\n\ndata:  c\n\n').events, [msg('a'), msg('b'), msg(' c')])
  })

  test('a field without a colon is the whole line with an empty value', () => {
    // "data" alone appends an empty line to the data buffer.
    assert.deepEqual(parse('data\ndata\n\n').events, [msg('\n')])
    assert.deepEqual(parse('data\n\n').events, [msg('')])
  })

  test('comment lines are ignored and reported without the colon and one space', () => {
    const s = parse(': ping\n:raw\ndata: x\n\n')
    assert.deepEqual(s.events, [msg('x')])
    assert.deepEqual(s.comments, ['ping', 'raw'])
  })

  test('unknown fields are ignored', () => {
    assert.deepEqual(parse('foo: bar\nDATA: no\ndata: yes\n\n').events, [msg('yes')])
  })

  test('several data lines join with LF and the trailing LF is removed', () => {
    assert.deepEqual(parse('data: a\ndata: b\ndata:\n\n').events, [msg('a\nb\n')])
  })

  test('no dispatch when the data buffer is empty', () => {
    assert.deepEqual(parse('event: x\n\nid: 1\n\n\n\n').events, [])
  })

  test('an unterminated event at the end of the stream is not dispatched', () => {
    const s = parse('data: complete\n\ndata: partial\n')
    s.parser.end()
    assert.deepEqual(s.events, [msg('complete')])
  })

  test('the event type resets after each dispatch', () => {
    assert.deepEqual(parse('event: a\ndata: 1\n\ndata: 2\n\n').events, [msg('1', '', 'a'), msg('2')])
  })

  test('an empty event field means message', () => {
    assert.deepEqual(parse('event:\ndata: 1\n\n').events, [msg('1')])
  })
})

describe('parser: ids and retry', () => {
  test('the last event id is kept across events until a new id arrives', () => {
    assert.deepEqual(parse('id: 7\ndata: a\n\ndata: b\n\nid: 8\ndata: c\n\n').events, [
      msg('a', '7'),
      msg('b', '7'),
      msg('c', '8'),
    ])
  })

  test('an empty id field resets the last event id', () => {
    assert.deepEqual(parse('id: 7\ndata: a\n\nid\ndata: b\n\n').events, [msg('a', '7'), msg('b', '')])
  })

  test('an id containing NUL is ignored', () => {
    assert.deepEqual(parse('id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n').events, [msg('a', '1'), msg('b', '1')])
  })

  test('an id-only block updates the last event id without dispatching', () => {
    const s = parse('id: 5\n\n')
    assert.equal(s.events.length, 0)
    assert.equal(s.parser.lastEventId, '5')
  })

  test('an id from an unterminated block is never used', () => {
    const s = parse('id: 1\ndata: a\n\nid: 2\ndata: cut')
    s.parser.end()
    assert.equal(s.parser.lastEventId, '1')
    s.parser.push('data: next\n\n')
    assert.deepEqual(
      s.events.at(-1),
      msg('next', '1'),
      'the next connection starts from the last dispatched id',
    )
  })

  test('the constructor seeds the last event id (a resumed connection)', () => {
    const s = parser('41')
    s.parser.push('data: x\n\n')
    assert.deepEqual(s.events, [msg('x', '41')])
  })

  test('retry is taken only when all ASCII digits', () => {
    const s = parse('retry: 1500\nretry: 1.5\nretry: -1\nretry: 12a\nretry:\nretry: ١٢\nretry:0\n\n')
    assert.deepEqual(s.retries, [1500, 0])
  })
})

describe('parser: bytes and UTF-8', () => {
  test('a multi-byte character split between chunks is decoded whole', () => {
    const all = bytes('data: €uro 😀\n\n')
    for (let cut = 1; cut < all.length; cut++) {
      const s = parse(all.subarray(0, cut), all.subarray(cut))
      assert.deepEqual(s.events, [msg('€uro 😀')], `cut at byte ${cut}`)
    }
  })

  test('a leading BOM is ignored, only the first', () => {
    assert.deepEqual(parse(bytes('\uFEFFdata: a\n\n')).events, [msg('a')])
    assert.deepEqual(parse('\uFEFFdata: a\n\n').events, [msg('a')])
    // A second BOM is part of the stream: here it makes the field name "\uFEFFdata", an unknown field.
    assert.deepEqual(parse(bytes('\uFEFF\uFEFFdata: a\n\ndata: b\n\n')).events, [msg('b')])
    assert.deepEqual(parse('\uFEFF', '\uFEFFdata: a\n\ndata: b\n\n').events, [msg('b')])
  })

  test('a BOM split across byte chunks is still the leading BOM', () => {
    const all = bytes('\uFEFFdata: a\n\n')
    assert.deepEqual(parse(all.subarray(0, 1), all.subarray(1, 2), all.subarray(2)).events, [msg('a')])
  })

  test('invalid UTF-8 becomes U+FFFD', () => {
    assert.deepEqual(parse(new Uint8Array([0x64, 0x61, 0x74, 0x61, 0x3a, 0xff, 0x0a, 0x0a])).events, [
      msg('\uFFFD'),
    ])
  })

  test('reset() starts a new stream: BOM allowed again, buffers cleared, last id kept', () => {
    const s = parse('id: 3\ndata: a\n\ndata: pending')
    s.parser.reset()
    s.parser.push(bytes('\uFEFFdata: b\n\n'))
    assert.deepEqual(s.events, [msg('a', '3'), msg('b', '3')])
  })

  test('one byte at a time gives the same events as one chunk', () => {
    const text = 'id: 1\r\nevent: e\r\ndata: α\rdata: β\n\n: c\ndata: last\r\n\r\n'
    const whole = parse(bytes(text)).events
    const all = bytes(text)
    const s = parser()
    for (let i = 0; i < all.length; i++) s.parser.push(all.subarray(i, i + 1))
    assert.deepEqual(s.events, whole)
    assert.deepEqual(whole, [msg('α\nβ', '1', 'e'), msg('last', '1')])
  })
})

describe('parser: long lines and the bound', () => {
  /** A full collection, so `heapUsed` is what is retained (the flag is set at run time for this file). */
  const gc = (() => {
    setFlagsFromString('--expose-gc')
    return runInNewContext('gc') as () => void
  })()

  test('a 14 MB event in 16 KiB chunks parses in time comparable to eventsource-parser (same run)', () => {
    // The carried-over line was once searched again on every chunk: 14 MB took ~20 s (quadratic).
    const all = bytes(`id: big\ndata: ${'x'.repeat(14_000_000)}\n\n`)
    const chunks: Uint8Array[] = []
    for (let i = 0; i < all.length; i += 16_384) chunks.push(all.subarray(i, i + 16_384))
    const time = (run: () => number): number => {
      let best = Number.POSITIVE_INFINITY
      for (let round = 0; round < 3; round++) {
        const start = performance.now()
        assert.equal(run(), 14_000_000)
        best = Math.min(best, performance.now() - start)
      }
      return best
    }
    const ours = time(() => {
      let length = 0
      const p = new EventStreamParser({ onEvent: (e) => (length = e.data.length) })
      for (const c of chunks) p.push(c)
      return length
    })
    const theirs = time(() => {
      let length = 0
      const decoder = new TextDecoder()
      const p = createParser({ onEvent: (e) => (length = e.data.length) })
      for (const c of chunks) p.feed(decoder.decode(c, { stream: true }))
      return length
    })
    // Generous (the machine is shared): within 3x of eventsource-parser, plus 100 ms of slack.
    assert.ok(
      ours <= theirs * 3 + 100,
      `lifeline ${ours.toFixed(0)} ms, eventsource-parser ${theirs.toFixed(0)} ms`,
    )
  })

  test('a 10 MiB line without a newline ends with LIFELINE_ERR_EVENT_TOO_LARGE; memory stays bounded', () => {
    const MiB = 1024 * 1024
    const chunk = bytes('x'.repeat(16_384)) // decoded anew on each push: each one is new memory
    /** Pushes `data: ` and 10 MiB without a newline; returns the error and the most memory retained. */
    const feed = (maxEventLength: number): { error: unknown; peak: number } => {
      const p = new EventStreamParser({ onEvent: () => assert.fail('no event') }, { maxEventLength })
      gc()
      const base = process.memoryUsage().heapUsed
      let peak = 0
      let error: unknown
      try {
        p.push('data: ')
        for (let sent = 0; sent < 10 * MiB; sent += chunk.length) {
          p.push(chunk)
          if (sent % MiB === 0) {
            gc()
            peak = Math.max(peak, process.memoryUsage().heapUsed - base)
          }
        }
      } catch (caught) {
        error = caught
      }
      gc()
      peak = Math.max(peak, process.memoryUsage().heapUsed - base)
      // Once failed, the parser refuses the rest of the stream until reset().
      if (error !== undefined) assert.throws(() => p.push(chunk), { code: 'LIFELINE_ERR_EVENT_TOO_LARGE' })
      return { error, peak }
    }
    const bounded = feed(MiB)
    assert.ok(bounded.error instanceof LifelineError)
    assert.equal(bounded.error.code, 'LIFELINE_ERR_EVENT_TOO_LARGE')
    assert.match(bounded.error.message, /maxEventLength \(1048576 characters/)
    // The control: without the bound the same line is held whole.
    const unbounded = feed(0)
    assert.equal(unbounded.error, undefined)
    assert.ok(bounded.peak < 3 * MiB, `bounded parser retained ${bounded.peak} bytes`)
    assert.ok(unbounded.peak > 9 * MiB, `the unbounded control retained only ${unbounded.peak} bytes`)
  })

  test('the default bound is 16 Mi characters; reset() makes the parser usable again', () => {
    assert.equal(DEFAULT_MAX_EVENT_LENGTH, 16 * 1024 * 1024)
    const s = parser()
    const piece = 'y'.repeat(1024 * 1024)
    s.parser.push('data: ')
    for (let i = 0; i < 15; i++) s.parser.push(piece)
    s.parser.push(`${piece}\n\n`) // 16 Mi + 6 characters in one line, ended in this chunk
    assert.equal(s.events.length, 1)
    s.parser.push('data: ')
    assert.throws(
      () => {
        for (let i = 0; i < 17; i++) s.parser.push(piece)
      },
      { code: 'LIFELINE_ERR_EVENT_TOO_LARGE' },
    )
    s.parser.reset()
    s.parser.push('data: small\n\n')
    assert.deepEqual(s.events.at(-1), msg('small'))
  })

  test('many data lines of one event count against the bound too', () => {
    const p = new EventStreamParser({ onEvent: () => assert.fail('no event') }, { maxEventLength: 1000 })
    assert.throws(
      () => {
        for (let i = 0; i < 100; i++) p.push('data: 0123456789012345678\n')
      },
      { code: 'LIFELINE_ERR_EVENT_TOO_LARGE' },
    )
  })

  test('an id line carried over several chunks is still checked for NUL', () => {
    assert.deepEqual(parse('id: 1\ndata: a\n\nid: 2', '\0', 'x\ndata: b\n\n').events, [
      msg('a', '1'),
      msg('b', '1'),
    ])
    assert.deepEqual(parse('id: 1\ndata: a\n\nid: 2\0', 'x', 'y\ndata: b\n\n').events, [
      msg('a', '1'),
      msg('b', '1'),
    ])
  })

  test('maxEventLength must be a number >= 0', () => {
    for (const bad of [-1, Number.NaN, '5' as unknown as number]) {
      assert.throws(
        () => new EventStreamParser({ onEvent: () => undefined }, { maxEventLength: bad }),
        RangeError,
      )
    }
  })
})

describe('parser: property', () => {
  test('any split of any stream gives the events of one whole chunk, and eventsource-parser agrees', () => {
    const line = fc.stringMatching(/^[a-z0-9 :{}"é]{0,12}$/)
    const block = fc.record({
      id: fc.option(fc.stringMatching(/^[a-z0-9]{0,4}$/)),
      event: fc.option(fc.constantFrom('tick', 'message', '')),
      data: fc.array(line, { maxLength: 3 }),
      comment: fc.boolean(),
    })
    fc.assert(
      fc.property(
        fc.array(block, { maxLength: 6 }),
        fc.constantFrom('\n', '\r\n', '\r'),
        fc.array(fc.nat(), { maxLength: 6 }),
        (blocks, eol, cuts) => {
          let text = ''
          for (const b of blocks) {
            if (b.comment) text += `: c${eol}`
            if (b.id !== null) text += `id: ${b.id}${eol}`
            if (b.event !== null) text += `event: ${b.event}${eol}`
            for (const d of b.data) text += `data: ${d}${eol}`
            text += eol
          }
          const all = bytes(text)
          const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b)
          const pieces: Uint8Array[] = []
          let at = 0
          for (const p of [...points, all.length]) {
            pieces.push(all.subarray(at, p))
            at = p
          }
          const whole = parse(all).events
          assert.deepEqual(parse(...pieces).events, whole)
          const theirs: Array<[string, string]> = []
          const peer = createParser({ onEvent: (e) => theirs.push([e.event ?? 'message', e.data]) })
          peer.feed(text)
          assert.deepEqual(
            whole.map((e) => [e.type, e.data]),
            theirs,
          )
        },
      ),
      { numRuns: 500 },
    )
  })
})
