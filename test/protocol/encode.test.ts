import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { encodeComment, encodeEvent, encodeRetry } from '../../packages/lifeline-sse/src/protocol/encode.ts'
import { LifelineError } from '../../packages/lifeline-sse/src/protocol/errors.ts'
import { EventStreamParser } from '../../packages/lifeline-sse/src/protocol/parse.ts'
import type { ParsedEvent, SseEvent } from '../../packages/lifeline-sse/src/protocol/types.ts'

const text = (b: Uint8Array) => new TextDecoder().decode(b)

function roundTrip(chunks: Uint8Array[]): ParsedEvent[] {
  const out: ParsedEvent[] = []
  const p = new EventStreamParser({ onEvent: (e) => out.push(e) })
  for (const c of chunks) p.push(c)
  return out
}

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (e) {
    assert.ok(e instanceof LifelineError, 'throws a LifelineError')
    return e.code
  }
  return undefined
}

describe('encoder', () => {
  test('one data line per line of data, whatever the line break', () => {
    assert.equal(text(encodeEvent({ data: 'a\nb\rc\r\nd' })), 'data: a\ndata: b\ndata: c\ndata: d\n\n')
  })

  test('fields come out in the order id, event, retry, data', () => {
    assert.equal(
      text(encodeEvent({ id: '1', event: 'tick', retry: 2000, data: 'x' })),
      'id: 1\nevent: tick\nretry: 2000\ndata: x\n\n',
    )
  })

  test('the empty string is one empty data line, and it is dispatched', () => {
    assert.equal(text(encodeEvent({ data: '' })), 'data: \n\n')
    assert.deepEqual(roundTrip([encodeEvent({ data: '' })]), [{ type: 'message', data: '', lastEventId: '' }])
  })

  test('CR, LF or NUL in an event name is rejected with a typed error', () => {
    for (const bad of ['a\nb', 'a\rb', 'a\0b', '\r\n']) {
      assert.equal(
        errorCode(() => encodeEvent({ data: 'x', event: bad })),
        'LIFELINE_ERR_EVENT_NAME_INVALID',
      )
    }
  })

  test('CR, LF or NUL in an id is rejected with a typed error', () => {
    for (const bad of ['1\n', '\r1', '1\u00002']) {
      assert.equal(
        errorCode(() => encodeEvent({ data: 'x', id: bad })),
        'LIFELINE_ERR_EVENT_ID_INVALID',
      )
    }
  })

  test('retry must be a non-negative integer', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.equal(
        errorCode(() => encodeEvent({ data: 'x', retry: bad })),
        'LIFELINE_ERR_RETRY_INVALID',
      )
      assert.equal(
        errorCode(() => encodeRetry(bad)),
        'LIFELINE_ERR_RETRY_INVALID',
      )
    }
    assert.equal(text(encodeRetry(0)), 'retry: 0\n\n')
  })

  test('comments are one line and never dispatch an event', () => {
    assert.equal(text(encodeComment('ping')), ': ping\n\n')
    assert.equal(text(encodeComment()), ':\n\n')
    assert.equal(
      errorCode(() => encodeComment('a\nb')),
      'LIFELINE_ERR_COMMENT_INVALID',
    )
    assert.deepEqual(roundTrip([encodeComment('ping'), encodeRetry(10)]), [])
  })

  test('data cannot inject a field or end the event early', () => {
    const hostile = 'ok\n\nevent: evil\nid: 666\r\n\r\ndata: injected'
    const events = roundTrip([encodeEvent({ data: hostile, id: '1' })])
    assert.equal(events.length, 1)
    assert.deepEqual(events[0], {
      type: 'message',
      data: 'ok\n\nevent: evil\nid: 666\n\ndata: injected',
      lastEventId: '1',
    })
  })

  test('a large multi-line event round-trips', () => {
    const data = Array.from({ length: 10_000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`).join('\r\n')
    assert.deepEqual(roundTrip([encodeEvent({ data })]), [
      { type: 'message', data: data.replaceAll('\r\n', '\n'), lastEventId: '' },
    ])
  })
})

// Valid Unicode text (no lone surrogates: UTF-8 cannot carry them), biased towards line breaks.
const lineBreaky = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('\n', '\r', '\r\n', '\n\n', '\r\r', ' ', ':', 'data:', '\uFEFF'),
      },
    ),
    { maxLength: 8 },
  )
  .map((parts) => parts.join(''))

const fieldText = fc.string({ unit: 'grapheme', maxLength: 16 }).filter((s) => !/[\r\n\0]/.test(s))

const anEvent: fc.Arbitrary<SseEvent> = fc.record(
  {
    data: lineBreaky,
    event: fieldText.filter((s) => s !== ''),
    id: fieldText,
    retry: fc.nat({ max: 100_000 }),
  },
  { requiredKeys: ['data'] },
)

/** Splits bytes at random points, including inside multi-byte characters. */
function splitAt(all: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b)
  const chunks: Uint8Array[] = []
  let from = 0
  for (const p of points) {
    chunks.push(all.subarray(from, p))
    from = p
  }
  chunks.push(all.subarray(from))
  return chunks
}

describe('encode -> parse round trip (property)', () => {
  test('random events survive encode -> parse with random chunking', () => {
    fc.assert(
      fc.property(
        fc.array(anEvent, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (events, cuts) => {
          const parts = events.map(encodeEvent)
          const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
          let at = 0
          for (const p of parts) {
            all.set(p, at)
            at += p.length
          }
          const got = roundTrip(splitAt(all, cuts))
          let lastId = ''
          const want = events.map((e) => {
            if (e.id !== undefined) lastId = e.id
            return { type: e.event ?? 'message', data: e.data.replace(/\r\n|\r/g, '\n'), lastEventId: lastId }
          })
          assert.deepEqual(got, want)
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('parser chunking (property)', () => {
  const token = fc.constantFrom(
    'data',
    'data:',
    'data: ',
    'id: ',
    'event:',
    'retry: 5',
    ':',
    'x',
    'é',
    '😀',
    '\n',
    '\r',
    '\r\n',
    '\0',
  )
  test('any stream parses the same whole or split at random bytes', () => {
    fc.assert(
      fc.property(
        fc.array(token, { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (tokens, cuts) => {
          const all = new TextEncoder().encode(tokens.join(''))
          assert.deepEqual(roundTrip(splitAt(all, cuts)), roundTrip([all]))
        },
      ),
      { numRuns: 500 },
    )
  })
})
