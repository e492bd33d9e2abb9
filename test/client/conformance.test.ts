/**
 * Conformance: the protocol-level behaviours checked by the WPT `eventsource/` folder and by
 * LaunchDarkly's `sse-contract-tests`, re-expressed as our own tests against a local scripted server.
 * Each test is named after the case it covers (WPT file name, or the contract-test title).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  type ClientClock,
  LifelineEventSource,
  memoryStore,
} from '../../packages/lifeline-sse/src/client/index.ts'
import { Collector } from './collect.ts'
import { openStream, startScriptedServer } from './scripted-server.ts'
import { readData, readOnce } from './stream-fixture.ts'

const enc = new TextEncoder()

describe('WPT eventsource/', () => {
  test('eventsource-constructor-url-bogus: an unparsable URL throws a SyntaxError DOMException', () => {
    assert.throws(
      () => new LifelineEventSource('http://[not-a-host'),
      (error: unknown) => error instanceof DOMException && error.name === 'SyntaxError',
    )
  })

  test('eventsource-constructor-stringify + eventsource-url: url is the serialized, parsed URL', async () => {
    const source = new LifelineEventSource(new URL('http://127.0.0.1:9/a/../b?x=1#f'))
    source.close()
    assert.equal(source.url, 'http://127.0.0.1:9/b?x=1#f')
  })

  test('eventsource-prototype + eventsource-readyState: constants and initial state', () => {
    const source = new LifelineEventSource('http://127.0.0.1:9/')
    assert.deepEqual([source.CONNECTING, source.OPEN, source.CLOSED], [0, 1, 2])
    assert.deepEqual(
      [LifelineEventSource.CONNECTING, LifelineEventSource.OPEN, LifelineEventSource.CLOSED],
      [0, 1, 2],
    )
    assert.equal(source.readyState, source.CONNECTING)
    assert.equal(source.withCredentials, false)
    source.close()
    assert.equal(source.readyState, source.CLOSED)
  })

  test('request-credentials: withCredentials reflects the init dictionary', () => {
    const source = new LifelineEventSource('http://127.0.0.1:9/', { withCredentials: true })
    source.close()
    assert.equal(source.withCredentials, true)
  })

  test('eventsource-onopen + eventsource-onmessage: handlers see OPEN and the data', async () => {
    const server = await startScriptedServer(({ res }) => {
      openStream(res)
      res.write('data: data\n\n')
    })
    const source = new LifelineEventSource(server.url())
    const opened: number[] = []
    const got: string[] = []
    const done = new Promise<void>((resolve) => {
      source.onopen = function () {
        opened.push(this.readyState)
      }
      source.onmessage = (event) => {
        got.push(event.data)
        resolve()
      }
    })
    try {
      await done
      assert.deepEqual(opened, [1])
      assert.deepEqual(got, ['data'])
    } finally {
      source.close()
      await server.close()
    }
  })

  test('eventsource-eventtarget: addEventListener receives message events', async () => {
    const result = await readOnce({ chunks: ['data: hello\n\n'] })
    assert.deepEqual(
      result.messages.map((e) => e.data),
      ['hello'],
    )
  })

  test('eventsource-close: close() sets CLOSED at once and no event follows', async () => {
    const server = await startScriptedServer(({ res }) => {
      openStream(res)
      res.write('data: one\n\ndata: two\n\n')
    })
    const source = new LifelineEventSource(server.url())
    const collector = new Collector(source)
    source.onmessage = () => {
      source.close()
      assert.equal(source.readyState, source.CLOSED)
    }
    try {
      await collector.count('message', 1)
      // A second request proves time passed with the first source closed and silent.
      const probe = new LifelineEventSource(server.url('/probe'))
      const probed = new Collector(probe)
      await probed.count('message', 2)
      probe.close()
      assert.equal(collector.of('message').length, 1)
      assert.deepEqual(
        collector.seen.map((e) => e.type),
        ['statechange', 'open', 'message', 'statechange'],
      )
    } finally {
      source.close()
      await server.close()
    }
  })

  test('eventsource-close: close() inside onopen, no message is dispatched', async () => {
    const server = await startScriptedServer(({ res }) => {
      openStream(res)
      res.write('data: x\n\n')
    })
    const source = new LifelineEventSource(server.url())
    const collector = new Collector(source)
    source.onopen = () => source.close()
    try {
      await collector.until((seen) => seen.some((e) => e.state === 'closed'), 'closed')
      const probe = new LifelineEventSource(server.url('/probe'))
      await new Collector(probe).count('message', 1)
      probe.close()
      assert.equal(collector.of('message').length, 0)
    } finally {
      await server.close()
    }
  })

  test('eventsource-request-cancellation: close() right after construction sends no request', async () => {
    const server = await startScriptedServer(({ res }) => {
      openStream(res)
      res.write('data: x\n\n')
    })
    const cancelled = new LifelineEventSource(server.url('/cancelled'))
    cancelled.close()
    const probe = new LifelineEventSource(server.url('/probe'))
    try {
      await new Collector(probe).count('message', 1)
      assert.deepEqual(
        server.requests.map((r) => r.path),
        ['/probe'],
      )
    } finally {
      probe.close()
      await server.close()
    }
  })

  test('format-bom: one leading BOM is ignored', async () => {
    assert.deepEqual(await readData([enc.encode('\uFEFFdata: 1\n\n')]), ['1'])
  })

  test('format-bom-2: a second BOM is part of the field name (event ignored)', async () => {
    assert.deepEqual(await readData([enc.encode('\uFEFF\uFEFFdata: 1\n\ndata: 2\n\n')]), ['2'])
  })

  test('format-comments: comment lines are ignored, even between data lines', async () => {
    const long = 'x'.repeat(2049)
    assert.deepEqual(await readData([`:${long}\ndata:1\n:\ndata:2\n: ${long}\n\n`]), ['1\n2'])
  })

  test('format-data-before-final-empty-line: an event cut off by the end of the stream is dropped', async () => {
    assert.deepEqual(await readData(['data: 1\n\ndata: 2\n']), ['1'])
  })

  test('format-field-data: data lines join with LF, "data" alone adds an empty line', async () => {
    assert.deepEqual(await readData(['data:\n\ndata\ndata\n\ndata:test\n\n']), ['', '\n', 'test'])
  })

  test('format-field-event: the event field names the type; onmessage ignores other types', async () => {
    const result = await readOnce({ chunks: ['event: test\ndata: x\n\ndata: y\n\n'], types: ['test'] })
    assert.deepEqual(
      result.messages.map((e) => [e.type, e.data]),
      [
        ['test', 'x'],
        ['message', 'y'],
      ],
    )
  })

  test('format-field-event-empty: an empty event field means "message"', async () => {
    assert.deepEqual(await readData(['event: \ndata: data\n\n']), ['data'])
  })

  test('format-field-id: the id is on the event and sent as Last-Event-ID on reconnect', async () => {
    const result = await readOnce({ chunks: ['id: 1\ndata: a\n\n'] })
    assert.equal(result.messages[0]?.lastEventId, '1')
    assert.equal(result.requests[0]?.headers['last-event-id'], undefined)
    assert.equal(result.requests[1]?.headers['last-event-id'], '1')
  })

  test('format-field-id-2: an id-only block still sets the last event id', async () => {
    const result = await readOnce({ chunks: ['id: 1\n\ndata: a\n\n'] })
    assert.equal(result.messages[0]?.lastEventId, '1')
  })

  test('format-field-id-3: the id persists, changes, and resets on an empty id', async () => {
    const persists = await readOnce({ chunks: ['id: 1\ndata: a\n\ndata: b\n\n'] })
    assert.deepEqual(
      persists.messages.map((e) => e.lastEventId),
      ['1', '1'],
    )
    const changes = await readOnce({ chunks: ['id: 1\ndata: a\n\nid: 2\ndata: b\n\ndata: c\n\n'] })
    assert.deepEqual(
      changes.messages.map((e) => e.lastEventId),
      ['1', '2', '2'],
    )
    const resets = await readOnce({ chunks: ['id: 1\ndata: a\n\nid\ndata: b\n\ndata: c\n\n'] })
    assert.deepEqual(
      resets.messages.map((e) => e.lastEventId),
      ['1', '', ''],
    )
    assert.equal(resets.requests[1]?.headers['last-event-id'], undefined, 'empty id: no header')
  })

  test('format-field-id-null: an id containing NUL is ignored', async () => {
    const result = await readOnce({ chunks: ['id: 1\ndata: a\n\nid: a\0b\ndata: b\n\n'] })
    assert.deepEqual(
      result.messages.map((e) => e.lastEventId),
      ['1', '1'],
    )
  })

  test('format-field-parsing: only exact field names count', async () => {
    const stream =
      'data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n'
    assert.deepEqual(await readData([stream]), ['\0\n 2\n1\n3\n\n4'])
  })

  test('format-field-retry: the server retry sets the reconnection time', async () => {
    const delays: number[] = []
    const clock: ClientClock = {
      now: () => Date.now(),
      setTimeout: (fn, ms) => {
        delays.push(ms)
        return setTimeout(fn, 0)
      },
      clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    }
    await readOnce({ chunks: ['retry: 1500\ndata: x\n\n'], init: { clock } })
    assert.deepEqual(delays, [1500])
  })

  test('format-field-retry-bogus + retry-empty: non-digit and empty retry values are ignored', async () => {
    const delays: number[] = []
    const clock: ClientClock = {
      now: () => Date.now(),
      setTimeout: (fn, ms) => {
        delays.push(ms)
        return setTimeout(fn, 0)
      },
      clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    }
    const result = await readOnce({
      chunks: ['retry: 1000x\nretry\nretry:\nretry: 12 \ndata: x\n\n'],
      init: { clock, retry: { initialDelay: 7 } },
    })
    assert.equal(result.source.serverRetry, undefined)
    assert.deepEqual(delays, [7])
  })

  test('format-field-unknown: unknown fields are ignored', async () => {
    assert.deepEqual(
      await readData(['data: test\n foobar:xxx\njustsometext\n:thisisacommentyay\ndata: test\n\n']),
      ['test\ntest'],
    )
  })

  test('format-leading-space: only one leading space is removed', async () => {
    assert.deepEqual(await readData(['data:\u0020\u0020test\n\n']), ['\u0020test'])
  })

  for (const [name, type] of [
    ['format-mime-bogus', 'text/x-bogus'],
    ['format-mime-valid-bogus', 'text/plain'],
    ['essence must match exactly (text/event-streamx)', 'text/event-streamx'],
  ] as const) {
    test(`${name}: Content-Type ${type} fails the connection for good`, async () => {
      const result = await readOnce({ chunks: ['data: x\n\n'], headers: { 'content-type': type } })
      assert.equal(result.messages.length, 0)
      const errors = result.seen.filter((e) => e.type === 'error')
      assert.equal(errors.length, 1)
      assert.equal(errors[0]?.readyState, 2)
      assert.equal(errors[0]?.data, undefined, 'a plain event, not a MessageEvent')
      assert.equal(result.requests.length, 1, 'no reconnect')
    })
  }

  for (const type of ['text/event-stream;', 'TEXT/Event-Stream', 'text/event-stream; charset=windows-1252']) {
    test(`format-mime-trailing-semicolon / case: Content-Type "${type}" opens`, async () => {
      assert.deepEqual(await readData(['data: x\n\n'], { 'content-type': type }), ['x'])
    })
  }

  test('format-newlines: CR, LF and CRLF all end lines', async () => {
    assert.deepEqual(await readData(['data:test\r\ndata\ndata:test\r\n\r', 'data:x\r\rdata:y\n\n']), [
      'test\n\ntest',
      'x',
      'y',
    ])
  })

  test('format-null-character: NUL in data is kept', async () => {
    assert.deepEqual(await readData(['data: a\0b\n\n']), ['a\0b'])
  })

  test('format-utf-8: the stream is always UTF-8, invalid bytes become U+FFFD', async () => {
    const bytes = new Uint8Array([...enc.encode('data: ok\u2026 '), 0xff, ...enc.encode('\n\n')])
    assert.deepEqual(await readData([bytes], { 'content-type': 'text/event-stream; charset=windows-1252' }), [
      'ok\u2026 \uFFFD',
    ])
  })

  test('request-accept + request-cache-control: GET with Accept text/event-stream, no-store', async () => {
    const result = await readOnce({ chunks: ['data: x\n\n'] })
    const first = result.requests[0]!
    assert.equal(first.method, 'GET')
    assert.equal(first.headers.accept, 'text/event-stream')
    assert.equal(first.headers['cache-control'], 'no-cache')
  })

  for (const status of [301, 302, 303, 307, 308]) {
    test(`request-redirect (${status}): followed; url unchanged, origin of the final URL`, async () => {
      const target = await startScriptedServer(({ res }) => {
        openStream(res)
        res.write('data: moved\n\n')
      })
      const start = await startScriptedServer(({ res }) => {
        res.writeHead(status, { location: target.url('/final') }).end()
      })
      const source = new LifelineEventSource(start.url('/start'))
      const collector = new Collector(source)
      try {
        await collector.count('message', 1)
        assert.equal(source.url, start.url('/start'))
        assert.equal(collector.of('message')[0]?.origin, target.origin)
      } finally {
        source.close()
        await Promise.all([start.close(), target.close()])
      }
    })
  }

  for (const status of [204, 205, 210, 299, 404, 410]) {
    test(`request-status-error (${status}): fails the connection, CLOSED, one error`, async () => {
      const server = await startScriptedServer(({ res }) => {
        res
          .writeHead(status, { 'content-type': 'text/event-stream' })
          .end(status === 204 ? undefined : 'data: no\n\n')
      })
      const source = new LifelineEventSource(server.url(), { retry: { initialDelay: 1 } })
      const collector = new Collector(source)
      try {
        await collector.count('error', 1)
        assert.equal(source.readyState, source.CLOSED)
        assert.equal(collector.of('message').length, 0)
        assert.equal(collector.of('error').length, 1)
        assert.equal(server.requests.length, 1)
      } finally {
        source.close()
        await server.close()
      }
    })
  }

  test('request-status-error (503, strict): fails like a browser', async () => {
    const server = await startScriptedServer(({ res }) => {
      res.writeHead(503).end()
    })
    const source = new LifelineEventSource(server.url(), { strict: true, retry: { initialDelay: 1 } })
    const collector = new Collector(source)
    try {
      await collector.count('error', 1)
      assert.equal(source.readyState, source.CLOSED)
      assert.equal(server.requests.length, 1)
    } finally {
      source.close()
      await server.close()
    }
  })

  test('eventsource-reconnect: a stream that ends reconnects; a 204 then stops it', async () => {
    const result = await readOnce({ chunks: ['retry: 1\ndata: x\n\n'] })
    assert.deepEqual(
      result.seen.filter((e) => e.type !== 'statechange').map((e) => [e.type, e.readyState]),
      [
        ['open', 1],
        ['message', 1],
        ['error', 0],
        ['error', 2],
      ],
    )
    assert.equal(result.requests.length, 2)
  })

  test('event-data: data keeps inner line breaks and loses the last one', async () => {
    assert.deepEqual(await readData(['data: 1\ndata:2\ndata\n\n']), ['1\n2\n'])
  })
})

describe('sse-contract-tests', () => {
  test('basic parsing: one-line message in one chunk', async () => {
    assert.deepEqual(await readData(['data: Hello\n\n']), ['Hello'])
  })

  test('basic parsing: one-line message in two chunks', async () => {
    assert.deepEqual(await readData(['data: Hel', 'lo\n\n']), ['Hello'])
  })

  test('basic parsing: two one-line messages in one chunk', async () => {
    assert.deepEqual(await readData(['data: Hello\n\ndata: World\n\n']), ['Hello', 'World'])
  })

  test('basic parsing: one two-line message in one chunk', async () => {
    assert.deepEqual(await readData(['data: Hello\ndata:World\n\n']), ['Hello\nWorld'])
  })

  test('basic parsing: empty data', async () => {
    assert.deepEqual(await readData(['data:\n\n']), [''])
  })

  test('basic parsing: event with specific type, and the default type', async () => {
    const result = await readOnce({
      chunks: ['event: greeting\ndata: Hello\n\ndata: Hi\n\n'],
      types: ['greeting'],
    })
    assert.deepEqual(
      result.messages.map((e) => [e.type, e.data]),
      [
        ['greeting', 'Hello'],
        ['message', 'Hi'],
      ],
    )
  })

  test('basic parsing: event with type and ID, fields in reverse order', async () => {
    const result = await readOnce({
      chunks: ['data: Hello\nid: abc\nevent: greeting\n\n'],
      types: ['greeting'],
    })
    assert.deepEqual(
      result.messages.map((e) => [e.type, e.data, e.lastEventId]),
      [['greeting', 'Hello', 'abc']],
    )
  })

  test('basic parsing: ID field is ignored if it contains a null', async () => {
    const result = await readOnce({ chunks: ['id: a\0bc\ndata: Hello\n\n'] })
    assert.equal(result.messages[0]?.lastEventId, '')
  })

  test('basic parsing: last ID persists, and can be overridden by an empty value', async () => {
    const result = await readOnce({
      chunks: ['id: abc\ndata: first\n\ndata: second\n\nid: \ndata: third\n\n'],
    })
    assert.deepEqual(
      result.messages.map((e) => e.lastEventId),
      ['abc', 'abc', ''],
    )
  })

  test('basic parsing: unknown field is ignored', async () => {
    assert.deepEqual(await readData(['color: blue\ndata: Hello\n\n']), ['Hello'])
  })

  test('basic parsing: fields without leading space, and with extra leading space', async () => {
    const result = await readOnce({
      chunks: ['event:greeting\ndata:Hello\n\nevent:  greeting\ndata:  Hello\n\n'],
      types: ['greeting', ' greeting'],
    })
    assert.deepEqual(
      result.messages.map((e) => [e.type, e.data]),
      [
        ['greeting', 'Hello'],
        [' greeting', ' Hello'],
      ],
    )
  })

  test('basic parsing: field with no colon', async () => {
    assert.deepEqual(await readData(['data\n\ndata\ndata\n\n']), ['', '\n'])
  })

  test('basic parsing: multi-byte characters, also sent in single-byte pieces', async () => {
    assert.deepEqual(await readData(['data: €豆腐\n\n']), ['€豆腐'])
    const pieces = [...enc.encode('data: €豆腐\n\n')].map((byte) => new Uint8Array([byte]))
    assert.deepEqual(await readData(pieces), ['€豆腐'])
  })

  test('basic parsing: many messages in rapid succession keep their order', async () => {
    const expected = Array.from({ length: 100 }, (_, i) => `message ${i}`)
    assert.deepEqual(await readData([expected.map((data) => `data: ${data}\n\n`).join('')]), expected)
  })

  test('linefeeds: LF, CR and CRLF, also split across chunks', async () => {
    assert.deepEqual(await readData(['data: a\r\n\r\ndata: b\r\rdata: c\n\n', 'data: d\r', '\n\r', '\n']), [
      'a',
      'b',
      'c',
      'd',
    ])
  })

  test('comments: comments are ignored, alone and between fields', async () => {
    assert.deepEqual(await readData([':hello\n\ndata: a\n:x\ndata: b\n\n']), ['a\nb'])
  })

  test('bom: a leading byte order mark is skipped', async () => {
    assert.deepEqual(await readData([enc.encode('\uFEFFdata: Hello\n\n')]), ['Hello'])
  })

  test('payload sizes: a 1 MiB message in one chunk and in many chunks', async () => {
    const big = 'x'.repeat(1 << 20)
    assert.deepEqual(await readData([`data: ${big}\n\n`]), [big])
    const pieces: string[] = []
    const text = `data: ${big}\n\n`
    for (let i = 0; i < text.length; i += 65_536) pieces.push(text.slice(i, i + 65_536))
    assert.deepEqual(await readData(pieces), [big])
  })

  test('http behavior: default method and headers, no Last-Event-Id', async () => {
    const result = await readOnce({ chunks: ['data: x\n\n'] })
    const first = result.requests[0]!
    assert.equal(first.method, 'GET')
    assert.equal(first.headers.accept, 'text/event-stream')
    assert.equal(first.headers['cache-control'], 'no-cache')
    assert.equal(first.headers['last-event-id'], undefined)
  })

  test('http behavior: custom headers', async () => {
    const result = await readOnce({
      chunks: ['data: x\n\n'],
      init: { headers: { 'header-name-1': 'value-1', 'header-name-2': 'value-2' } },
    })
    assert.equal(result.requests[0]?.headers['header-name-1'], 'value-1')
    assert.equal(result.requests[0]?.headers['header-name-2'], 'value-2')
  })

  for (const method of ['POST', 'REPORT']) {
    test(`http behavior: ${method} request with a body, resent when reconnecting`, async () => {
      const body = '{"hello": "world"}'
      const result = await readOnce({
        chunks: ['data: x\n\n'],
        init: { method, body, headers: { 'content-type': 'application/json; charset=utf-8' } },
      })
      for (const request of result.requests) {
        assert.equal(request.method, method)
        assert.equal(request.headers['content-type'], 'application/json; charset=utf-8')
        assert.equal(request.body, body)
      }
      assert.equal(result.requests.length, 2)
    })
  }

  test('http behavior: sends Last-Event-Id in initial request if set', async () => {
    const result = await readOnce({ chunks: ['data: x\n\n'], init: { lastEventIdStore: memoryStore('abc') } })
    assert.equal(result.requests[0]?.headers['last-event-id'], 'abc')
  })

  test('reconnection: sends ID of last received event', async () => {
    const result = await readOnce({ chunks: ['id: abc\ndata: Hello\n\n'] })
    assert.equal(result.requests[1]?.headers['last-event-id'], 'abc')
  })

  test('reconnection: sends ID of last event that had an ID if later events did not', async () => {
    const result = await readOnce({ chunks: ['id: abc\ndata: Hello\n\ndata: World\n\n'] })
    assert.equal(result.requests[1]?.headers['last-event-id'], 'abc')
  })

  test('reconnection: can set read timeout (heartbeatTimeout)', async () => {
    const server = await startScriptedServer(({ index, res }) => {
      openStream(res)
      res.write(`data: hello ${index}\n\n`) // then silence
    })
    const source = new LifelineEventSource(server.url(), {
      heartbeatTimeout: 300,
      retry: { initialDelay: 1 },
    })
    const collector = new Collector(source)
    try {
      await collector.count('message', 2)
      assert.equal(collector.of('error').length, 1)
      assert.deepEqual(
        collector.of('message').map((e) => e.data),
        ['hello 0', 'hello 1'],
      )
    } finally {
      source.close()
      await server.close()
    }
  })
})
