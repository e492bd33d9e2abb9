/**
 * Every reconnection rule of the client (docs/design.md §7) against real local servers. Delays are
 * observed through an injected clock whose timers fire at once, so backoff is asserted without waiting.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import {
  type ClientClock,
  ClientErrorEvent,
  LifelineEventSource,
  localStorageStore,
  type StateChangeEvent,
  type StorageLike,
  subscribe,
} from '../../packages/lifeline-sse/src/client/index.ts'
import { Collector } from './collect.ts'
import { openStream, startScriptedServer } from './scripted-server.ts'

/** A clock whose timers run on the next macrotask, recording each requested delay. */
function fastClock(): ClientClock & { delays: number[] } {
  const delays: number[] = []
  return {
    delays,
    now: () => Date.now(),
    setTimeout: (fn, ms) => {
      delays.push(ms)
      return setTimeout(fn, 0)
    },
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  }
}

/** A URL on a port nothing listens on: every connect is refused (a network error). */
async function refusedUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}/`
}

test('it satisfies the type of the global EventSource', () => {
  // Compile-time: tsc fails this file if LifelineEventSource stops being assignable to EventSource.
  const source: EventSource = new LifelineEventSource('http://127.0.0.1:9/')
  source.onmessage = (event: MessageEvent) => void event.data
  source.addEventListener('message', (event) => void event.data)
  source.close()
  assert.equal(source.readyState, source.CLOSED)
})

test('Last-Event-ID is sent on reconnect and carried into events of the next connection', async () => {
  const server = await startScriptedServer(({ index, res }) => {
    openStream(res)
    if (index === 0) res.end('id: 7\ndata: a\n\n')
    else res.write('data: b\n\n')
  })
  const source = new LifelineEventSource(server.url(), { retry: { initialDelay: 1 } })
  const collector = new Collector(source)
  try {
    await collector.count('message', 2)
    assert.equal(server.requests[1]?.headers['last-event-id'], '7')
    assert.deepEqual(
      collector.of('message').map((e) => [e.data, e.lastEventId]),
      [
        ['a', '7'],
        ['b', '7'],
      ],
    )
    assert.equal(source.lastEventId, '7')
  } finally {
    source.close()
    await server.close()
  }
})

test('an id from an unterminated block is never used', async () => {
  const server = await startScriptedServer(({ index, res }) => {
    openStream(res)
    if (index === 0) res.end('id: 1\ndata: a\n\nid: 2\ndata: cut')
    else res.write('data: b\n\n')
  })
  const source = new LifelineEventSource(server.url(), { retry: { initialDelay: 1 } })
  const collector = new Collector(source)
  try {
    await collector.count('message', 2)
    assert.equal(server.requests[1]?.headers['last-event-id'], '1')
    assert.deepEqual(
      collector.of('message').map((e) => [e.data, e.lastEventId]),
      [
        ['a', '1'],
        ['b', '1'],
      ],
    )
  } finally {
    source.close()
    await server.close()
  }
})

test('first reconnect after a good stream waits initialDelay, or the server retry when sent', async () => {
  for (const [prefix, expected] of [
    ['', 250],
    ['retry: 40\n', 40],
  ] as const) {
    const server = await startScriptedServer(({ index, res }) => {
      if (index > 0) return void res.writeHead(204).end()
      openStream(res)
      res.end(`${prefix}data: x\n\n`)
    })
    const clock = fastClock()
    const source = new LifelineEventSource(server.url(), { clock, retry: { initialDelay: 250 } })
    const collector = new Collector(source)
    try {
      await collector.until((seen) => seen.some((e) => e.type === 'error' && e.readyState === 2), 'failure')
      assert.deepEqual(clock.delays, [expected])
    } finally {
      source.close()
      await server.close()
    }
  }
})

test('backoff grows by factor with full jitter up to maxDelay; maxAttempts then closes', async () => {
  const url = await refusedUrl()
  for (const [random, expected] of [
    // windows: 100 (first attempt: exact), 200, 400, 800, 1000 (1600 capped by maxDelay)
    [0.999, [100, 199, 399, 799, 999]],
    [0.5, [100, 100, 200, 400, 500]],
  ] as const) {
    const clock = fastClock()
    const states: Array<[string, number, number]> = []
    const source = new LifelineEventSource(url, {
      clock,
      random: () => random,
      retry: { initialDelay: 100, maxDelay: 1000, factor: 2, maxAttempts: 5 },
    })
    source.addEventListener('statechange', (e) => {
      const { state, attempt, delay } = e as StateChangeEvent
      states.push([state, attempt, delay])
    })
    const errors: ClientErrorEvent[] = []
    source.addEventListener('error', (e) => errors.push(e as ClientErrorEvent))
    const collector = new Collector(source)
    await collector.until(() => source.readyState === 2, 'closed after maxAttempts')
    assert.deepEqual(clock.delays, expected)
    const waits = states.filter((s) => s[0] === 'reconnecting')
    assert.deepEqual(
      waits.map((s) => s[1]),
      [1, 2, 3, 4, 5],
    )
    assert.deepEqual(
      waits.map((s) => s[2]),
      expected,
    )
    assert.deepEqual(states.at(-2), ['connecting', 5, 0])
    assert.deepEqual(states.at(-1), ['closed', 5, 0])
    const last = errors.at(-1)!
    assert.equal(last.willRetry, false)
    assert.equal(last.error.code, 'LIFELINE_ERR_CLIENT_MAX_ATTEMPTS')
    assert.equal(errors.filter((e) => e.error.code === 'LIFELINE_ERR_CLIENT_NETWORK').length, 5)
  }
})

test('full jitter spreads delays within the window (Math.random)', async () => {
  const url = await refusedUrl()
  const clock = fastClock()
  const source = new LifelineEventSource(url, {
    clock,
    retry: { initialDelay: 1000, maxDelay: 1000, factor: 1, maxAttempts: 30 },
  })
  await new Collector(source).until(() => source.readyState === 2, 'closed after maxAttempts')
  const jittered = clock.delays.slice(1)
  assert.equal(jittered.length, 29)
  assert.ok(jittered.every((d) => d >= 0 && d < 1000))
  assert.ok(new Set(jittered).size > 10, `delays should differ: ${jittered}`)
})

test('the server retry is the floor of every backoff delay', async () => {
  const server = await startScriptedServer(({ index, res }) => {
    if (index === 0) {
      openStream(res)
      res.end('retry: 300\ndata: x\n\n')
    } else res.writeHead(index < 4 ? 503 : 204).end()
  })
  const clock = fastClock()
  const source = new LifelineEventSource(server.url(), {
    clock,
    random: () => 0,
    retry: { initialDelay: 10, maxDelay: 100 },
  })
  try {
    await new Collector(source).until(() => source.readyState === 2, 'closed by the 204')
    assert.deepEqual(clock.delays, [300, 300, 300, 300])
    assert.equal(source.serverRetry, 300)
  } finally {
    source.close()
    await server.close()
  }
})

for (const status of [429, 502, 503, 504]) {
  test(`${status} reconnects with backoff and honours Retry-After`, async () => {
    const server = await startScriptedServer(({ index, res }) => {
      if (index === 0) return void res.writeHead(status, { 'retry-after': '2' }).end('busy')
      openStream(res)
      res.write('data: in\n\n')
    })
    const clock = fastClock()
    const source = new LifelineEventSource(server.url(), { clock, retry: { initialDelay: 10 } })
    const collector = new Collector(source)
    const errors: ClientErrorEvent[] = []
    source.addEventListener('error', (e) => errors.push(e as ClientErrorEvent))
    try {
      await collector.count('message', 1)
      assert.deepEqual(clock.delays, [2000])
      assert.equal(errors[0]?.status, status)
      assert.equal(errors[0]?.willRetry, true)
      assert.equal(errors[0]?.error.code, 'LIFELINE_ERR_CLIENT_RETRYABLE_STATUS')
    } finally {
      source.close()
      await server.close()
    }
  })
}

test('an HTTP-date Retry-After is honoured too', async () => {
  const server = await startScriptedServer(({ index, res }) => {
    if (index === 0) {
      return void res.writeHead(503, { 'retry-after': new Date(Date.now() + 60_000).toUTCString() }).end()
    }
    openStream(res)
    res.write('data: in\n\n')
  })
  const clock = fastClock()
  const source = new LifelineEventSource(server.url(), { clock, retry: { initialDelay: 10 } })
  try {
    await new Collector(source).count('message', 1)
    assert.ok(clock.delays[0]! > 55_000 && clock.delays[0]! <= 60_000, `delay ${clock.delays[0]}`)
  } finally {
    source.close()
    await server.close()
  }
})

for (const [status, code] of [
  [204, 'LIFELINE_ERR_CLIENT_STATUS'],
  [400, 'LIFELINE_ERR_CLIENT_STATUS'],
  [401, 'LIFELINE_ERR_CLIENT_STATUS'],
  [500, 'LIFELINE_ERR_CLIENT_STATUS'],
  [200, 'LIFELINE_ERR_CLIENT_CONTENT_TYPE'],
] as const) {
  test(`${status}${status === 200 ? ' with a wrong content type' : ''} fails for good with one error carrying the reason`, async () => {
    const server = await startScriptedServer(({ res }) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(status === 204 ? undefined : '{}')
    })
    const source = new LifelineEventSource(server.url(), { retry: { initialDelay: 1 } })
    const collector = new Collector(source)
    const errors: ClientErrorEvent[] = []
    source.addEventListener('error', (e) => errors.push(e as ClientErrorEvent))
    try {
      await collector.count('error', 1)
      assert.equal(source.readyState, source.CLOSED)
      assert.equal(source.state, 'closed')
      assert.equal(errors.length, 1)
      assert.ok(errors[0] instanceof ClientErrorEvent)
      assert.equal(errors[0].error.code, code)
      assert.equal(errors[0].status, status)
      assert.equal(errors[0].willRetry, false)
      assert.match(errors[0].message, new RegExp(status === 200 ? 'application/json' : String(status)))
      assert.equal(server.requests.length, 1)
    } finally {
      source.close()
      await server.close()
    }
  })
}

test('a dropped connection (socket destroyed mid-stream) reconnects', async () => {
  const server = await startScriptedServer(({ index, res }) => {
    openStream(res)
    res.write(`id: ${index}\ndata: ${index}\n\n`, () => {
      if (index === 0) setImmediate(() => res.socket?.destroy())
    })
  })
  const source = new LifelineEventSource(server.url(), { retry: { initialDelay: 1 } })
  const collector = new Collector(source)
  try {
    await collector.count('message', 2)
    assert.equal(server.requests[1]?.headers['last-event-id'], '0')
  } finally {
    source.close()
    await server.close()
  }
})

test('heartbeatTimeout: comments count as life, silence reconnects', async () => {
  const server = await startScriptedServer(async ({ index, res }) => {
    openStream(res)
    if (index > 0) return void res.write('data: second\n\n')
    // Pings every 100 ms for 1.5 s, past the 1 s timeout: only the pings keep it alive. (A generous
    // margin: a false timeout needs a 900 ms stall of this loaded machine.)
    for (let i = 0; i < 15; i++) {
      res.write(': ping\n\n')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    res.write('data: alive\n\n')
  })
  const source = new LifelineEventSource(server.url(), { heartbeatTimeout: 1000, retry: { initialDelay: 1 } })
  const collector = new Collector(source)
  const errors: ClientErrorEvent[] = []
  source.addEventListener('error', (e) => errors.push(e as ClientErrorEvent))
  try {
    await collector.count('message', 2)
    assert.deepEqual(
      collector.of('message').map((e) => e.data),
      ['alive', 'second'],
    )
    assert.equal(errors.length, 1)
    assert.equal(errors[0]?.error.code, 'LIFELINE_ERR_CLIENT_HEARTBEAT_TIMEOUT')
  } finally {
    source.close()
    await server.close()
  }
})

test('close() is synchronous and cancels a pending reconnect', async () => {
  const server = await startScriptedServer(({ res }) => {
    openStream(res)
    res.end('data: x\n\n')
  })
  const scheduled: Array<{ ms: number; cleared: boolean }> = []
  const clock: ClientClock = {
    now: () => Date.now(),
    setTimeout: (_fn, ms) => {
      const handle = { ms, cleared: false }
      scheduled.push(handle) // never fires: only close() may act on it
      return handle
    },
    clearTimeout: (handle) => {
      ;(handle as { cleared: boolean }).cleared = true
    },
  }
  const source = new LifelineEventSource(server.url(), { clock })
  const collector = new Collector(source)
  try {
    await collector.until(() => source.state === 'reconnecting', 'reconnecting')
    assert.equal(scheduled.length, 1)
    source.close()
    assert.equal(source.readyState, source.CLOSED)
    assert.equal(source.state, 'closed')
    assert.equal(scheduled[0]?.cleared, true)
    assert.deepEqual(
      collector.seen.map((e) => e.state ?? e.type),
      ['open', 'open', 'message', 'reconnecting', 'error', 'closed'],
    )
  } finally {
    source.close()
    await server.close()
  }
})

test('close() while open ends the request on the server', async () => {
  let closedOnServer: () => void = () => undefined
  const serverSawClose = new Promise<void>((resolve) => {
    closedOnServer = resolve
  })
  const server = await startScriptedServer(({ res }) => {
    res.on('close', () => closedOnServer())
    openStream(res)
    res.write('data: x\n\n')
  })
  const source = new LifelineEventSource(server.url())
  try {
    await new Collector(source).count('message', 1)
    source.close()
    await serverSawClose
  } finally {
    await server.close()
  }
})

test('an AbortSignal closes it; an aborted signal means no request at all', async () => {
  const server = await startScriptedServer(({ res }) => {
    openStream(res)
    res.write('data: x\n\n')
  })
  try {
    const controller = new AbortController()
    const source = new LifelineEventSource(server.url('/live'), { signal: controller.signal })
    const collector = new Collector(source)
    await collector.count('message', 1)
    controller.abort()
    assert.equal(source.readyState, source.CLOSED)
    assert.equal(collector.of('error').length, 0)
    assert.equal(collector.seen.at(-1)?.state, 'closed')

    const aborted = new LifelineEventSource(server.url('/never'), { signal: AbortSignal.abort() })
    assert.equal(aborted.readyState, aborted.CLOSED)
    assert.equal(aborted.state, 'closed')
    const probe = new LifelineEventSource(server.url('/probe'))
    await new Collector(probe).count('message', 1)
    probe.close()
    assert.deepEqual(
      server.requests.map((r) => r.path),
      ['/live', '/probe'],
    )
  } finally {
    await server.close()
  }
})

test('statechange order: connecting, open, reconnecting, connecting, open, closed, with attempt and delay', async () => {
  const server = await startScriptedServer(({ index, res }) => {
    openStream(res)
    if (index === 0) res.end('data: a\n\n')
    else res.write('data: b\n\n')
  })
  const source = new LifelineEventSource(server.url(), { retry: { initialDelay: 5 } })
  assert.equal(source.state, 'connecting')
  const changes: Array<[string, number, number, number]> = []
  source.addEventListener('statechange', (e) => {
    const { state, attempt, delay } = e as StateChangeEvent
    changes.push([state, attempt, delay, source.readyState])
  })
  const collector = new Collector(source)
  try {
    await collector.count('message', 2)
    assert.equal(source.attempt, 0)
    source.close()
    assert.deepEqual(changes, [
      ['open', 0, 0, 1],
      ['reconnecting', 1, 5, 0],
      ['connecting', 1, 0, 0],
      ['open', 0, 0, 1],
      ['closed', 0, 0, 2],
    ])
  } finally {
    source.close()
    await server.close()
  }
})

test('onmessage is called only for events of type message', async () => {
  const server = await startScriptedServer(({ res }) => {
    openStream(res)
    res.write('event: other\ndata: 1\n\ndata: 2\n\nevent: message\ndata: 3\n\n')
  })
  const source = new LifelineEventSource(server.url())
  const viaHandler: string[] = []
  source.onmessage = (event) => viaHandler.push(event.data)
  const collector = new Collector(source, ['message', 'other'])
  try {
    await collector.count('message', 2)
    assert.deepEqual(viaHandler, ['2', '3'])
    assert.deepEqual(
      collector.of('other').map((e) => e.data),
      ['1'],
    )
  } finally {
    source.close()
    await server.close()
  }
})

test('a localStorage-style store keeps the id across EventSource instances (page reloads)', async () => {
  const map = new Map<string, string>()
  const storage: StorageLike = {
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
  }
  const server = await startScriptedServer(({ index, res }) => {
    openStream(res)
    res.write(`id: e${index}\ndata: ${index}\n\n`)
  })
  try {
    const first = new LifelineEventSource(server.url(), {
      lastEventIdStore: localStorageStore('feed', storage),
    })
    await new Collector(first).count('message', 1)
    first.close()
    assert.equal(map.get('feed'), 'e0')
    const second = new LifelineEventSource(server.url(), {
      lastEventIdStore: localStorageStore('feed', storage),
    })
    assert.equal(second.lastEventId, 'e0')
    await new Collector(second).count('message', 1)
    second.close()
    assert.equal(server.requests[1]?.headers['last-event-id'], 'e0')
    assert.equal(map.get('feed'), 'e1')
  } finally {
    await server.close()
  }
})

test('subscribe: for await reads events across reconnects; break closes the stream', async () => {
  let serverClosed: () => void = () => undefined
  const closed = new Promise<void>((resolve) => {
    serverClosed = resolve
  })
  const server = await startScriptedServer(({ index, res }) => {
    openStream(res)
    if (index === 0) return void res.end('id: 1\nevent: a\ndata: one\n\n')
    res.on('close', () => serverClosed())
    res.write('data: two\n\ndata: three\n\n')
  })
  const got: Array<[string, string, string]> = []
  try {
    for await (const event of subscribe(server.url(), { retry: { initialDelay: 1 } })) {
      got.push([event.type, event.data, event.lastEventId])
      if (got.length === 3) break
    }
    await closed
    assert.deepEqual(got, [
      ['a', 'one', '1'],
      ['message', 'two', '1'],
      ['message', 'three', '1'],
    ])
  } finally {
    await server.close()
  }
})

test('subscribe: ends when the signal aborts, throws the reason when it fails for good', async () => {
  const server = await startScriptedServer(({ path, res }) => {
    if (path === '/gone') return void res.writeHead(204).end()
    openStream(res)
    res.write('data: x\n\n')
  })
  try {
    const controller = new AbortController()
    const got: string[] = []
    for await (const event of subscribe(server.url('/live'), { signal: controller.signal })) {
      got.push(event.data)
      controller.abort()
    }
    assert.deepEqual(got, ['x'])
    await assert.rejects(
      async () => {
        for await (const _ of subscribe(server.url('/gone'))) assert.fail('no event expected')
      },
      (error: unknown) => (error as { code?: string }).code === 'LIFELINE_ERR_CLIENT_STATUS',
    )
  } finally {
    await server.close()
  }
})

test('an injected fetch is used for every request', async () => {
  const server = await startScriptedServer(({ res }) => {
    openStream(res)
    res.write('data: x\n\n')
  })
  const seen: string[] = []
  const source = new LifelineEventSource(server.url(), {
    fetch: (input, init) => {
      seen.push(String(input))
      return fetch(input, init)
    },
  })
  try {
    await new Collector(source).count('message', 1)
    assert.deepEqual(seen, [server.url()])
  } finally {
    source.close()
    await server.close()
  }
})

test('close() from a statechange handler stops everything at once: no open, no error after it', async () => {
  const server = await startScriptedServer(({ path, res }) => {
    openStream(res)
    if (path === '/probe') res.write('data: b\n\n')
    else res.end('data: a\n\n')
  })
  try {
    for (const closeOn of ['open', 'reconnecting', 'connecting'] as const) {
      const source = new LifelineEventSource(server.url(`/${closeOn}`), { retry: { initialDelay: 1 } })
      const collector = new Collector(source)
      source.addEventListener('statechange', (e) => {
        if (e.state === closeOn && (closeOn !== 'connecting' || source.attempt > 0)) source.close()
      })
      await collector.until(() => source.state === 'closed', `closed on ${closeOn}`)
      const after = collector.seen.slice(collector.seen.findIndex((e) => e.state === closeOn) + 1)
      assert.deepEqual(
        after.map((e) => e.state ?? e.type),
        ['closed'],
        `after ${closeOn}`,
      )
    }
    const probe = new LifelineEventSource(server.url('/probe'))
    await new Collector(probe).count('message', 1)
    probe.close()
    // open: 1 request; reconnecting: 1; connecting (attempt 1): 1, the reconnect never sent.
    assert.deepEqual(
      server.requests.map((r) => r.path),
      ['/open', '/reconnecting', '/connecting', '/probe'],
    )
  } finally {
    await server.close()
  }
})

test('a non-ASCII last event id is sent as its UTF-8 bytes; invalid headers throw at construction', async () => {
  const server = await startScriptedServer(({ index, res }) => {
    openStream(res)
    if (index === 0) res.end('id: é☃\ndata: a\n\n')
    else res.write('data: b\n\n')
  })
  const source = new LifelineEventSource(server.url(), { retry: { initialDelay: 1 } })
  try {
    await new Collector(source).count('message', 2)
    assert.equal(source.lastEventId, 'é☃')
    const raw = server.requests[1]?.req.rawHeaders
    const value = raw?.[raw.findIndex((h) => h.toLowerCase() === 'last-event-id') + 1]
    assert.equal(Buffer.from(value ?? '', 'latin1').toString('utf8'), 'é☃')
  } finally {
    source.close()
    await server.close()
  }
  assert.throws(
    () => new LifelineEventSource(server.url(), { headers: { 'x-bad': 'line\nbreak' } }),
    TypeError,
  )
})
