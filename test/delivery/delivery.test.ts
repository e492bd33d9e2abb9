/**
 * Delivery over real sockets: a hub behind node:http (`handleNode`) on 127.0.0.1, SSE clients reading
 * the wire with the project's parser. Ordering, topic isolation, multi-topic dedupe, prefix patterns,
 * replay from each store, resets and hostile ids.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect as netConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { FileHistory } from '../../packages/lifeline-sse/src/server/history/file-history.ts'
import type { History } from '../../packages/lifeline-sse/src/server/history/history.ts'
import { MemoryHistory } from '../../packages/lifeline-sse/src/server/history/memory-history.ts'
import { connect, startHub, type TestHub, waitForStreams } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'lifeline-delivery-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
let files = 0

async function hubWith(t: { after(fn: () => unknown): void }, history?: History): Promise<TestHub> {
  const h = await startHub(history ? { history } : {})
  t.after(() => h.close())
  return h
}

test('a subscriber receives every event of its topic in publish order', async (t) => {
  const h = await hubWith(t)
  const c = await connect(h.url, ['a'])
  t.after(() => c.close())
  await waitForStreams(h.hub, 1)
  // Many publishes in one tick (coalesced writes) and across ticks.
  const burst = await Promise.all(
    Array.from({ length: 300 }, (_, i) => h.hub.publish('a', { data: `b${i}` })),
  )
  const ids = [...burst]
  for (let i = 0; i < 50; i++) {
    ids.push(await h.hub.publish('a', { data: `s${i}`, event: i % 2 === 0 ? 'tick' : undefined }))
    await new Promise((resolve) => setImmediate(resolve))
  }
  await c.waitForCount(ids.length)
  assert.deepEqual(
    c.events.map((e) => e.id),
    ids,
  )
  assert.deepEqual(
    c.events.slice(0, 3).map((e) => e.data),
    ['b0', 'b1', 'b2'],
  )
  assert.equal(c.events[300]!.type, 'tick')
  assert.equal(c.events[301]!.type, 'message')
})

test('topic isolation: a subscriber never receives another topic', async (t) => {
  const h = await hubWith(t)
  const a = await connect(h.url, ['a'])
  const b = await connect(h.url, ['b'])
  const ab = await connect(h.url, ['a/b'])
  t.after(() =>
    [a, b, ab].forEach((c) => {
      c.close()
    }),
  )
  await waitForStreams(h.hub, 3)
  const sent: Record<string, string[]> = { a: [], b: [], 'a/b': [], c: [] }
  for (let i = 0; i < 60; i++) {
    const topic = ['a', 'b', 'a/b', 'c'][i % 4]!
    sent[topic]!.push(await h.hub.publish(topic, { data: `${topic}:${i}` }))
  }
  await Promise.all([a.waitForCount(15), b.waitForCount(15), ab.waitForCount(15)])
  // A last event on every topic, so anything misrouted before it would already be here.
  await h.hub.publish(['a', 'b', 'a/b'], { data: 'end' })
  await Promise.all([a.waitForCount(16), b.waitForCount(16), ab.waitForCount(16)])
  for (const [c, topic] of [
    [a, 'a'],
    [b, 'b'],
    [ab, 'a/b'],
  ] as const) {
    assert.deepEqual(
      c.events.slice(0, 15).map((e) => e.id),
      sent[topic],
    )
    assert.ok(c.events.slice(0, 15).every((e) => e.data.startsWith(`${topic}:`)))
  }
})

test('an event on several matching topics reaches a multi-topic subscriber once', async (t) => {
  const h = await hubWith(t)
  const c = await connect(h.url, ['x', 'y', 'p/*'])
  const y = await connect(h.url, ['y'])
  t.after(() =>
    [c, y].forEach((s) => {
      s.close()
    }),
  )
  await waitForStreams(h.hub, 2)
  const one = await h.hub.publish(['x', 'y', 'p/1', 'p/q/2'], { data: 'all' })
  const two = await h.hub.publish(['x'], { data: 'x only' })
  const three = await h.hub.publish(['z', 'p/3'], { data: 'prefix only' })
  const four = await h.hub.publish(['y', 'y'], { data: 'twice the same topic' })
  await c.waitForCount(4)
  await y.waitForCount(2)
  await h.hub.publish(['x'], { data: 'fence' })
  await c.waitForCount(5)
  assert.deepEqual(c.events.map((e) => e.id).slice(0, 4), [one, two, three, four])
  assert.deepEqual(
    y.events.map((e) => e.id),
    [one, four],
  )
})

test('prefix patterns receive every topic below the prefix and nothing else', async (t) => {
  const h = await hubWith(t)
  const orders = await connect(h.url, ['orders/*'])
  const eu = await connect(h.url, ['orders/eu/*'])
  t.after(() =>
    [orders, eu].forEach((s) => {
      s.close()
    }),
  )
  await waitForStreams(h.hub, 2)
  const expected: string[] = []
  const expectedEu: string[] = []
  for (const topic of [
    'orders/1',
    'orders',
    'ordersx/1',
    'orders/eu/2',
    'news',
    'orders/eu',
    'orders/us/3',
    'x/orders/4',
  ]) {
    const id = await h.hub.publish(topic, { data: topic })
    if (topic.startsWith('orders/')) expected.push(id)
    if (topic.startsWith('orders/eu/')) expectedEu.push(id)
  }
  const fence = await h.hub.publish(['orders/end', 'orders/eu/end'], { data: 'fence' })
  await orders.waitFor((e) => e.some((x) => x.id === fence), 'the fence')
  await eu.waitFor((e) => e.some((x) => x.id === fence), 'the fence')
  assert.deepEqual(
    orders.events.map((e) => e.id),
    [...expected, fence],
  )
  assert.deepEqual(
    eu.events.map((e) => e.id),
    [...expectedEu, fence],
  )
})

const stores: { name: string; make: () => History }[] = [
  { name: 'memory', make: () => new MemoryHistory() },
  { name: 'file', make: () => new FileHistory({ path: join(dir, `replay${files++}.db`) }) },
]

for (const s of stores) {
  test(`${s.name} store: a resuming client gets what it missed, in order, then live events`, async (t) => {
    const h = await hubWith(t, s.make())
    const ids: string[] = []
    for (let i = 0; i < 20; i++) ids.push(await h.hub.publish(i % 2 === 0 ? 'r' : 'other', { data: `e${i}` }))
    const mine = ids.filter((_, i) => i % 2 === 0)
    // Header form.
    const c = await connect(h.url, ['r'], { lastEventId: mine[3] })
    t.after(() => c.close())
    await c.waitForCount(mine.length - 4)
    const live = await h.hub.publish('r', { data: 'live' })
    await c.waitForCount(mine.length - 3)
    assert.deepEqual(
      c.events.map((e) => e.id),
      [...mine.slice(4), live],
    )
    assert.deepEqual(
      c.events.map((e) => e.data),
      [...[8, 10, 12, 14, 16, 18].map((i) => `e${i}`), 'live'],
    )
    // Query form, and the header wins when both are sent.
    const q = await connect(h.url, ['r'], { query: `lastEventId=${encodeURIComponent(mine[7]!)}` })
    const both = await connect(h.url, ['r'], {
      query: `lastEventId=${encodeURIComponent(mine[0]!)}`,
      lastEventId: mine[8]!,
    })
    t.after(() =>
      [q, both].forEach((x) => {
        x.close()
      }),
    )
    await q.waitForCount(3)
    await both.waitForCount(2)
    assert.deepEqual(
      q.events.map((e) => e.id),
      [mine[8], mine[9], live],
    )
    assert.deepEqual(
      both.events.map((e) => e.id),
      [mine[9], live],
    )
    // Resuming from the newest id replays nothing and gets the next live event.
    const newest = await connect(h.url, ['r'], { lastEventId: live })
    t.after(() => newest.close())
    await waitForStreams(h.hub, 4)
    const next = await h.hub.publish('r', { data: 'next' })
    await newest.waitForCount(1)
    assert.deepEqual(
      newest.events.map((e) => e.id),
      [next],
    )
  })
}

function resetOf(data: string): { reason: string; lastEventId: string } {
  return JSON.parse(data) as { reason: string; lastEventId: string }
}

test('an unknown id (another run, garbage) starts the stream with lifeline:reset, then live events', async (t) => {
  const h = await hubWith(t)
  const previousRun = new MemoryHistory()
  const foreign = (await previousRun.append(['a'], { data: 'x' })).id
  let newest = await h.hub.publish('a', { data: 'before' })
  for (const asked of [foreign, 'nope', `${foreign}0`]) {
    const c = await connect(h.url, ['a'], { lastEventId: asked })
    await c.waitForCount(1)
    assert.equal(c.events[0]!.type, 'lifeline:reset')
    assert.deepEqual(resetOf(c.events[0]!.data), { reason: 'unknown', lastEventId: asked })
    assert.equal(c.events[0]!.id, newest, 'the reset carries the newest id, the point to resume from')
    const id = await h.hub.publish('a', { data: 'after' })
    newest = id
    await c.waitForCount(2)
    assert.deepEqual(c.events[1], { type: 'message', data: 'after', id })
    c.close()
  }
})

test('a client that reconnects with the id of a reset resumes without a second reset', async (t) => {
  const h = await hubWith(t)
  await h.hub.publish('a', { data: 'old' })
  const first = await connect(h.url, ['a'], { lastEventId: 'garbage' })
  await first.waitForCount(1)
  assert.equal(first.events[0]!.type, 'lifeline:reset')
  first.close()
  // Published while the client was away: the resume from the reset's id must replay it, and only it.
  const missed = await h.hub.publish('a', { data: 'missed' })
  const again = await connect(h.url, ['a'], { lastEventId: first.events[0]!.id })
  t.after(() => again.close())
  await again.waitForCount(1)
  assert.deepEqual(again.events[0], { type: 'message', data: 'missed', id: missed })
})

for (const s of stores) {
  test(`${s.name} store: an id older than the history starts with lifeline:reset expired`, async (t) => {
    const history =
      s.name === 'memory'
        ? new MemoryHistory({ maxEvents: 5 })
        : new FileHistory({ path: join(dir, `expired${files++}.db`), maxEvents: 5 })
    const h = await hubWith(t, history)
    const ids: string[] = []
    for (let i = 0; i < 12; i++) ids.push(await h.hub.publish('a', { data: String(i) }))
    const c = await connect(h.url, ['a'], { lastEventId: ids[2] })
    t.after(() => c.close())
    await c.waitForCount(1)
    assert.equal(c.events[0]!.type, 'lifeline:reset')
    assert.deepEqual(resetOf(c.events[0]!.data), { reason: 'expired', lastEventId: ids[2] })
    const id = await h.hub.publish('a', { data: 'live' })
    await c.waitForCount(2)
    assert.equal(c.events[1]!.id, id)
    // 13 events, 5 kept (ids[8..11] and the live one): ids[7] is the oldest that resumes without a reset.
    const ok = await connect(h.url, ['a'], { lastEventId: ids[7] })
    t.after(() => ok.close())
    await ok.waitForCount(5)
    assert.deepEqual(
      ok.events.map((e) => e.id),
      [...ids.slice(8), id],
    )
  })
}

/** Writes a raw HTTP request and returns what the server answered within the first chunk(s). */
function rawRequest(port: number, head: Buffer, until: RegExp, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1')
    let text = ''
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no answer matching ${until}; got ${JSON.stringify(text.slice(0, 300))}`))
    }, timeoutMs)
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1')
      if (until.test(text)) {
        clearTimeout(timer)
        socket.destroy()
        resolve(text)
      }
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      if (until.test(text)) resolve(text)
      else resolve(text)
    })
    socket.write(head)
  })
}

test('hostile ids (huge, control bytes, non-ASCII) are reset or refused, never a crash', async (t) => {
  const h = await hubWith(t)
  const port = Number(new URL(h.url).port)
  const real = await h.hub.publish('a', { data: 'one' })
  const malformed = async (c: Awaited<ReturnType<typeof connect>>, asked: string) => {
    await c.waitForCount(1)
    assert.equal(c.status, 200)
    assert.equal(c.events[0]!.type, 'lifeline:reset')
    const body = resetOf(c.events[0]!.data)
    assert.equal(body.reason, 'malformed')
    assert.equal(body.lastEventId, asked.slice(0, 128))
    c.close()
  }
  // Too long (header and query), just over the 128-character bound.
  const long = `${real}${'9'.repeat(200)}`
  await malformed(await connect(h.url, ['a'], { lastEventId: long }), long)
  await malformed(await connect(h.url, ['a'], { query: `lastEventId=${'x'.repeat(129)}` }), 'x'.repeat(129))
  const huge = 'y'.repeat(8000)
  await malformed(await connect(h.url, ['a'], { lastEventId: huge }), huge)
  // Control bytes and non-ASCII through the query (a header cannot carry them through node's client).
  for (const asked of ['\u0000\u0001\u001b[31m', 'a\tb', 'é✓', '\u{1F600}', `${real}\u0000`]) {
    await malformed(await connect(h.url, ['a'], { query: `lastEventId=${encodeURIComponent(asked)}` }), asked)
  }
  // Raw bytes on the wire: obs-text (0x80-0xff) in the header value is legal HTTP, control bytes are not.
  const latin = await rawRequest(
    port,
    Buffer.concat([
      Buffer.from('GET /events?topic=a HTTP/1.1\r\nHost: x\r\nLast-Event-ID: '),
      Buffer.from([0xe9, 0xff, 0x80]),
      Buffer.from('\r\n\r\n'),
    ]),
    /lifeline:reset[\s\S]*\n\n/,
  )
  assert.match(latin, /^HTTP\/1\.1 200/)
  assert.match(latin, /"reason":"malformed"/)
  const control = await rawRequest(
    port,
    Buffer.concat([
      Buffer.from('GET /events?topic=a HTTP/1.1\r\nHost: x\r\nLast-Event-ID: a'),
      Buffer.from([0x01, 0x7f, 0x00]),
      Buffer.from('b\r\n\r\n'),
    ]),
    /^HTTP\/1\.1 \d{3}/,
  )
  // Node's parser refuses it (400) or it is read as malformed (200 + reset): either way, no crash.
  assert.match(control, /^HTTP\/1\.1 (400|200)/)
  // A header far beyond node's limit is refused by the HTTP parser (431), the server lives on.
  const giant = await rawRequest(
    port,
    Buffer.from(`GET /events?topic=a HTTP/1.1\r\nHost: x\r\nLast-Event-ID: ${'z'.repeat(100_000)}\r\n\r\n`),
    /^HTTP\/1\.1 \d{3}/,
  )
  assert.match(giant, /^HTTP\/1\.1 431/)
  // The hub still serves and resumes normally.
  const fine = await connect(h.url, ['a'])
  t.after(() => fine.close())
  await waitForStreams(h.hub, 1)
  const id = await h.hub.publish('a', { data: 'still alive' })
  await fine.waitForCount(1)
  assert.equal(fine.events[0]!.id, id)
})
