/**
 * What a user-supplied `fetch` (or an odd server) can hand the client, and what the client makes of it:
 * always one clear ClientErrorEvent, never an unhandled rejection, never a silent OPEN.
 * Real local servers where a server is involved; the fetch stand-ins return what node-fetch and broken
 * wrappers really return.
 */
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import {
  type ClientErrorEvent,
  type FetchLike,
  LifelineEventSource,
  type LifelineResetData,
  RESET_EVENT,
} from '../../packages/lifeline-sse/src/client/index.ts'
import { Collector } from './collect.ts'
import { openStream, startScriptedServer } from './scripted-server.ts'

/** Fails the test if any promise rejection goes unhandled while `run` runs (and a moment after). */
async function withoutUnhandledRejections(run: () => Promise<void>): Promise<void> {
  const seen: unknown[] = []
  const onUnhandled = (reason: unknown) => seen.push(reason)
  process.on('unhandledRejection', onUnhandled)
  try {
    await run()
    await new Promise((resolve) => setTimeout(resolve, 50))
  } finally {
    process.off('unhandledRejection', onUnhandled)
  }
  assert.deepEqual(seen, [], 'no unhandled rejection')
}

/** Runs a source to its end (CLOSED) and returns what it dispatched. */
async function runToClose(
  source: LifelineEventSource,
): Promise<{ collector: Collector; errors: ClientErrorEvent[] }> {
  const errors: ClientErrorEvent[] = []
  source.addEventListener('error', (event) => errors.push(event))
  const collector = new Collector(source)
  try {
    await collector.until(() => source.readyState === source.CLOSED, 'CLOSED')
  } finally {
    source.close()
  }
  return { collector, errors }
}

const sseHeaders = new Headers({ 'content-type': 'text/event-stream' })

for (const [name, body, described] of [
  ['a Node Readable (node-fetch)', () => Readable.from([Buffer.from('data: x\n\n')]), 'a Node stream'],
  ['no body at all', () => undefined, 'undefined'],
  ['a null body', () => null, 'null'],
  ['a string body', () => 'data: x\n\n', 'a string'],
] as const) {
  test(`a fetch whose 200 body is ${name} fails with LIFELINE_ERR_CLIENT_BODY_INVALID, never OPEN`, async () => {
    await withoutUnhandledRejections(async () => {
      const fetch: FetchLike = async (url) => ({ status: 200, url, headers: sseHeaders, body: body() })
      const { collector, errors } = await runToClose(
        new LifelineEventSource('http://127.0.0.1:9/', { fetch }),
      )
      assert.equal(collector.of('open').length, 0, 'never announced as open')
      assert.equal(errors.length, 1)
      assert.equal(errors[0]!.error.code, 'LIFELINE_ERR_CLIENT_BODY_INVALID')
      assert.equal(errors[0]!.willRetry, false)
      assert.equal(errors[0]!.status, 200)
      assert.ok(errors[0]!.message.includes(described), errors[0]!.message)
    })
  })
}

test('a fetch that resolves to a non-Response fails with LIFELINE_ERR_CLIENT_RESPONSE_INVALID', async () => {
  await withoutUnhandledRejections(async () => {
    for (const value of [undefined, 'ok', { status: '200' }, { status: 200 }]) {
      const fetch = (async () => value) as unknown as FetchLike
      const { errors } = await runToClose(new LifelineEventSource('http://127.0.0.1:9/', { fetch }))
      assert.equal(errors.length, 1, JSON.stringify(value))
      assert.equal(errors[0]!.error.code, 'LIFELINE_ERR_CLIENT_RESPONSE_INVALID')
      assert.match(errors[0]!.message, /not a Response/)
    }
  })
})

test('a fetch that throws synchronously is a network error: it reconnects', async () => {
  await withoutUnhandledRejections(async () => {
    let calls = 0
    const fetch: FetchLike = () => {
      calls++
      throw new TypeError('boom')
    }
    const { errors } = await runToClose(
      new LifelineEventSource('http://127.0.0.1:9/', { fetch, retry: { initialDelay: 1, maxAttempts: 2 } }),
    )
    assert.equal(calls, 3)
    assert.deepEqual(
      errors.map((e) => [e.error.code, e.willRetry]),
      [
        ['LIFELINE_ERR_CLIENT_NETWORK', true],
        ['LIFELINE_ERR_CLIENT_NETWORK', true],
        ['LIFELINE_ERR_CLIENT_MAX_ATTEMPTS', false],
      ],
    )
    assert.match(errors[0]!.message, /network error \(boom\); reconnecting$/)
    // The give-up says what happened last, without the "reconnecting" of the attempt it reports.
    assert.match(
      errors[2]!.message,
      /^gave up after 2 reconnect attempts \(retry\.maxAttempts\); the last: network error \(boom\)$/,
    )
  })
})

test('a body that errors mid-stream is a network error: events before it arrive, then it reconnects', async () => {
  await withoutUnhandledRejections(async () => {
    let calls = 0
    const fetch: FetchLike = async (url) => {
      // The second attempt gets a 204, which ends the test's source for good.
      if (calls++ > 0) return { status: 204, url, headers: new Headers(), body: null }
      return {
        status: 200,
        url,
        headers: sseHeaders,
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('data: before\n\n'))
            setTimeout(() => controller.error(new Error('socket hang up')), 10)
          },
        }),
      }
    }
    const { collector, errors } = await runToClose(
      new LifelineEventSource('http://127.0.0.1:9/', { fetch, retry: { initialDelay: 1 } }),
    )
    assert.deepEqual(
      collector.of('message').map((e) => e.data),
      ['before'],
    )
    assert.deepEqual(
      errors.map((e) => [e.error.code, e.willRetry]),
      [
        ['LIFELINE_ERR_CLIENT_NETWORK', true],
        ['LIFELINE_ERR_CLIENT_STATUS', false],
      ],
    )
    assert.match(errors[0]!.message, /socket hang up/)
  })
})

test('a body that yields something other than bytes fails with LIFELINE_ERR_CLIENT_BODY_INVALID', async () => {
  await withoutUnhandledRejections(async () => {
    const fetch: FetchLike = async (url) => ({
      status: 200,
      url,
      headers: sseHeaders,
      body: new ReadableStream({ start: (controller) => controller.enqueue('data: text\n\n') }),
    })
    const { errors } = await runToClose(new LifelineEventSource('http://127.0.0.1:9/', { fetch }))
    assert.equal(errors[0]!.error.code, 'LIFELINE_ERR_CLIENT_BODY_INVALID')
    assert.match(errors[0]!.message, /yielded a string, not bytes/)
  })
})

test('an AbortError the client did not cause fails the connection (CLOSED), per WHATWG', async () => {
  await withoutUnhandledRejections(async () => {
    // The fetch option aborts the request itself (its own signal, as a page stop would).
    let calls = 0
    const fetch: FetchLike = async () => {
      calls++
      throw new DOMException('The user aborted a request.', 'AbortError')
    }
    const { errors } = await runToClose(new LifelineEventSource('http://127.0.0.1:9/', { fetch }))
    assert.equal(calls, 1, 'no reconnect')
    assert.equal(errors.length, 1)
    assert.equal(errors[0]!.error.code, 'LIFELINE_ERR_CLIENT_ABORTED')
    assert.equal(errors[0]!.willRetry, false)
  })
  // And while reading: the body's read rejects with an AbortError.
  const server = await startScriptedServer(({ res }) => {
    openStream(res)
    res.write('data: one\n\n')
  })
  try {
    const outside = new AbortController()
    const fetch: FetchLike = (url, init) =>
      globalThis.fetch(url, { ...init, signal: AbortSignal.any([init.signal, outside.signal]) })
    const source = new LifelineEventSource(server.url(), { fetch })
    const errors: ClientErrorEvent[] = []
    source.addEventListener('error', (event) => errors.push(event))
    source.onmessage = () => outside.abort()
    await new Collector(source).until(() => source.readyState === source.CLOSED, 'CLOSED')
    assert.deepEqual(
      errors.map((e) => e.error.code),
      ['LIFELINE_ERR_CLIENT_ABORTED'],
    )
    assert.equal(server.requests.length, 1)
  } finally {
    await server.close()
  }
})

test('a line longer than maxEventLength fails the connection with LIFELINE_ERR_EVENT_TOO_LARGE', async () => {
  let serverSawClose: () => void = () => undefined
  const closed = new Promise<void>((resolve) => {
    serverSawClose = resolve
  })
  const server = await startScriptedServer(async ({ res }) => {
    openStream(res)
    res.on('close', () => serverSawClose())
    res.write('data: ok\n\n')
    // 10 MiB without a newline, 64 KiB at a time, as long as the client keeps reading.
    const piece = 'x'.repeat(65_536)
    for (let sent = 0; sent < 10 * 1024 * 1024 && !res.destroyed; sent += piece.length) {
      if (!res.write(piece)) await new Promise((resolve) => res.once('drain', resolve).once('close', resolve))
    }
  })
  try {
    const source = new LifelineEventSource(server.url(), { maxEventLength: 1024 * 1024 })
    const { collector, errors } = await runToClose(source)
    assert.deepEqual(
      collector.of('message').map((e) => e.data),
      ['ok'],
    )
    assert.equal(errors.length, 1)
    assert.equal(errors[0]!.error.code, 'LIFELINE_ERR_EVENT_TOO_LARGE')
    assert.equal(errors[0]!.willRetry, false)
    await closed // the client stopped reading: the request was ended
    assert.equal(server.requests.length, 1, 'no reconnect')
  } finally {
    await server.close()
  }
})

for (const [status, body, type, expected] of [
  [
    403,
    '{"error":"forbidden","message":"the token does not cover topic \\"orders\\""}',
    'application/json',
    /^the server answered 403 \(forbidden: the token does not cover topic "orders"\) instead of 200: not reconnecting$/,
  ],
  [
    400,
    'bad topic: use A-Z\nmore',
    'text/plain',
    /^the server answered 400 \(bad topic: use A-Z\) instead of 200: not reconnecting$/,
  ],
  [404, '<html>nope</html>', 'text/html', /^the server answered 404 instead of 200: not reconnecting$/],
  [
    204,
    '',
    'text/plain',
    /^the server answered 204 No Content, its way to ask the client to stop: not reconnecting$/,
  ],
  [
    301,
    '',
    'text/plain',
    /^the server answered 301, a redirect without a Location header, so there is nothing to follow: not reconnecting$/,
  ],
  [307, '', 'text/plain', /^the server answered 307, a redirect without a Location header/],
] as const) {
  test(`a ${status} fails with the message that says what happened (${type})`, async () => {
    const server = await startScriptedServer(({ res }) => {
      res.writeHead(status, { 'content-type': type }).end(status === 204 ? undefined : body)
    })
    try {
      const { errors } = await runToClose(new LifelineEventSource(server.url()))
      assert.equal(errors.length, 1)
      assert.equal(errors[0]!.error.code, 'LIFELINE_ERR_CLIENT_STATUS')
      assert.equal(errors[0]!.status, status)
      assert.match(errors[0]!.message, expected)
      if (status !== 204) assert.doesNotMatch(errors[0]!.message, /204/)
    } finally {
      await server.close()
    }
  })
}

test('a refusal whose body never ends still fails within the reason deadline', async () => {
  const server = await startScriptedServer(({ res }) => {
    res.writeHead(403, { 'content-type': 'application/json' })
    res.write('{"error":"forb') // and nothing more
  })
  try {
    const { errors } = await runToClose(new LifelineEventSource(server.url()))
    assert.match(errors[0]!.message, /^the server answered 403 instead of 200: not reconnecting$/)
  } finally {
    await server.close()
  }
})

test('lastEventIdParam sends the id in the query instead of the header on reconnect', async () => {
  const server = await startScriptedServer(({ index, res }) => {
    openStream(res)
    if (index === 0) res.end('id: é7\ndata: a\n\n')
    else res.write('data: b\n\n')
  })
  const source = new LifelineEventSource(server.url('/events?topic=news'), {
    lastEventIdParam: 'lastEventId',
    retry: { initialDelay: 1 },
  })
  try {
    await new Collector(source).count('message', 2)
    assert.deepEqual(
      server.requests.map((r) => [r.path, r.headers['last-event-id']]),
      [
        ['/events?topic=news', undefined],
        [`/events?topic=news&lastEventId=${encodeURIComponent('é7')}`, undefined],
      ],
    )
    assert.equal(source.url, server.url('/events?topic=news'), 'url stays the constructor one')
  } finally {
    source.close()
    await server.close()
  }
})

test('no request header beyond Accept is set by the client (a CORS simple request)', async () => {
  const server = await startScriptedServer(({ res }) => {
    openStream(res)
    res.write('data: x\n\n')
  })
  const seen: Headers[] = []
  const source = new LifelineEventSource(server.url(), {
    fetch: (url, init) => {
      seen.push(new Headers(init.headers))
      assert.equal(init.cache, 'no-store')
      return globalThis.fetch(url, init)
    },
  })
  try {
    await new Collector(source).count('message', 1)
    assert.deepEqual([...seen[0]!.keys()], ['accept'])
  } finally {
    source.close()
    await server.close()
  }
})

test('onComment observes comment lines while open; comments never become events', async () => {
  const server = await startScriptedServer(({ res }) => {
    openStream(res)
    res.write(': ping\n:raw\nevent: comment\ndata: real\n\n')
  })
  const comments: string[] = []
  const source = new LifelineEventSource(server.url(), { onComment: (text) => comments.push(text) })
  const collector = new Collector(source, ['open', 'message', 'comment'])
  try {
    await collector.count('comment', 1)
    assert.deepEqual(comments, ['ping', 'raw'])
    assert.deepEqual(
      collector.of('comment').map((e) => e.data),
      ['real'],
      'a server event named comment',
    )
  } finally {
    source.close()
    await server.close()
  }
})

test('options are checked at construction: a clear TypeError or RangeError naming the option', () => {
  const url = 'http://127.0.0.1:9/'
  for (const [init, type, name] of [
    [{ heartbeatTimeout: '45s' }, TypeError, /heartbeatTimeout must be a number, got "45s"/],
    [{ heartbeatTimeout: -1 }, RangeError, /heartbeatTimeout must be/],
    [{ retry: { maxDelay: -5 } }, RangeError, /retry\.maxDelay must be a finite number >= 0, got -5/],
    [{ retry: { initialDelay: Number.NaN } }, TypeError, /retry\.initialDelay/],
    [{ retry: { factor: 0.5 } }, RangeError, /retry\.factor must be a finite number >= 1/],
    [{ retry: { maxAttempts: 1.5 } }, RangeError, /retry\.maxAttempts must be a whole number/],
    [{ retry: 3 }, TypeError, /option retry must be an object/],
    [{ maxEventLength: -1 }, RangeError, /maxEventLength/],
    [{ fetch: 'fetch' }, TypeError, /option fetch must be a function/],
    [{ credentials: 'all' }, TypeError, /credentials must be 'omit', 'same-origin' or 'include'/],
    [{ lastEventIdParam: '' }, TypeError, /lastEventIdParam must be a non-empty string/],
    [{ lastEventIdStore: {} }, TypeError, /lastEventIdStore must be an object with get, set methods/],
    [{ onComment: true }, TypeError, /onComment must be a function/],
  ] as const) {
    assert.throws(
      () => new LifelineEventSource(url, init as never),
      (error: unknown) => error instanceof type && name.test((error as Error).message),
      JSON.stringify(init),
    )
  }
  // Infinity is a valid maxAttempts (the default), and null options mean none (as WebIDL).
  new LifelineEventSource(url, { retry: { maxAttempts: Number.POSITIVE_INFINITY } }).close()
  new LifelineEventSource(url, null as never).close()
})

test('types: onerror takes a ClientErrorEvent; the lifeline:reset payload has a type', () => {
  // Compile-time: tsc fails this file if onerror's parameter stops being a ClientErrorEvent.
  const source = new LifelineEventSource('http://127.0.0.1:9/')
  source.onerror = (event) => void event.error.code
  source.addEventListener(RESET_EVENT, (event) => {
    const data: LifelineResetData = JSON.parse(event.data)
    void data.reason
  })
  source.close()
  assert.equal(RESET_EVENT, 'lifeline:reset')
})
