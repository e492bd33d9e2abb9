/**
 * The bad-input sweep: each hostile request gets a clear 4xx (or a timed-out socket for
 * slowloris), the process stays healthy, and two well-behaved subscribers receive every event published
 * throughout, in order.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect } from 'node:net'
import { after, before, test } from 'node:test'
import {
  http,
  metricValue,
  openStream,
  publish,
  type ServeProcess,
  type SseStream,
  startServe,
} from './serve-process.ts'

let hub: ServeProcess
let watchers: SseStream[] = []
const published: string[] = []
let ticker: NodeJS.Timeout | undefined
let tickFailures = 0

async function tick(data: string, topic = 'sweep'): Promise<void> {
  const a = await publish(hub.url, { topic, data })
  if (a.status === 201) published.push(a.json()['id'] as string)
  else tickFailures++
}

before(async () => {
  hub = await startServe([
    '--request-timeout',
    '1s',
    '--write-timeout',
    '1s',
    '--max-buffered',
    '64KiB',
    '--heartbeat',
    '500ms',
  ])
  watchers = await Promise.all([
    openStream(hub.url, '/events?topic=sweep'),
    openStream(hub.url, '/events?topic=sweep/*&topic=sweep'),
  ])
  let n = 0
  let busy = false
  ticker = setInterval(() => {
    if (busy) return
    busy = true
    tick(`tick-${n++}`).finally(() => (busy = false))
  }, 25)
})

after(async () => {
  clearInterval(ticker)
  for (const w of watchers) w.close()
  await hub?.stop('SIGKILL')
})

async function expect4xx(
  name: string,
  pending: Promise<Awaited<ReturnType<typeof http>>>,
  status: number,
  code: string,
): Promise<void> {
  const a = await pending
  assert.equal(a.status, status, `${name}: ${a.body.slice(0, 200)}`)
  assert.equal(a.json()['error'], code, name)
}

const json = (body: string | Buffer, type = 'application/json') =>
  http(`${hub.url}/publish`, { method: 'POST', headers: { 'content-type': type }, body })

test('malformed JSON bodies get 400 bad_json (or the field error)', async () => {
  await expect4xx('truncated', json('{"topic": "a", "data": '), 400, 'bad_json')
  await expect4xx('not an object', json('[1,2]'), 400, 'bad_json')
  await expect4xx('null', json('null'), 400, 'bad_json')
  await expect4xx('string', json('"hi"'), 400, 'bad_json')
  await expect4xx('deep nesting', json('['.repeat(100_000)), 400, 'bad_json')
  await expect4xx('bad utf8', json(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), 400, 'bad_json')
  await expect4xx('topic of wrong type', json('{"topic": 7, "data": "x"}'), 400, 'bad_topic')
  await expect4xx('event of wrong type', json('{"topic": "a", "data": "x", "event": 5}'), 400, 'bad_event')
})

test('wrong content types get 415', async () => {
  for (const type of [
    'text/plain',
    'multipart/form-data; boundary=x',
    'application/jsonp',
    'application/xml',
  ]) {
    await expect4xx(type, json('{"topic":"a","data":"x"}', type), 415, 'unsupported_media_type')
  }
  const none = await http(`${hub.url}/publish`, { method: 'POST', body: '{"topic":"a","data":"x"}' })
  assert.equal(none.status, 415)
})

test('2 MiB bodies get 413, with or without Content-Length', async () => {
  const big = Buffer.alloc(2 * 1024 * 1024, 0x61)
  await expect4xx('content-length', json(big), 413, 'body_too_large')
  const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const socket = connect(Number(new URL(hub.url).port), '127.0.0.1')
    let answer = ''
    socket.setEncoding('utf8').on('data', (c: string) => {
      answer += c
      if (answer.includes('\r\n\r\n') && answer.includes('}')) {
        resolve({ status: Number(answer.slice(9, 12)), body: answer.slice(answer.indexOf('\r\n\r\n') + 4) })
        socket.destroy()
      }
    })
    socket.on('error', reject)
    // Anything but the 413 (a 408 without a body, a bare close) fails the test instead of hanging it.
    socket.on('close', () => resolve({ status: Number(answer.slice(9, 12)), body: answer }))
    socket.write(
      'POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
    )
    const chunk = Buffer.alloc(256 * 1024, 0x61)
    for (let i = 0; i < 8; i++) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)
  })
  assert.equal(chunked.status, 413)
  assert.equal(JSON.parse(chunked.body.slice(chunked.body.indexOf('{'))).error, 'body_too_large')
})

test('CR or LF in an event name gets 400 bad_event; line breaks in data cannot inject fields', async () => {
  for (const event of ['a\rb', 'a\nb', 'a\r\nid: 1', '\n\ndata: x']) {
    await expect4xx(
      JSON.stringify(event),
      publish(hub.url, { topic: 'sweep', data: 'x', event }),
      400,
      'bad_event',
    )
  }
  const form = http(`${hub.url}/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'topic=sweep&data=x&event=a%0D%0Aid%3A%201',
  })
  await expect4xx('form', form, 400, 'bad_event')
  await tick('x\n\nevent: hacked\nid: 999\ndata: y\r\n')
})

test('invalid topics get 400 bad_topic', async () => {
  for (const topic of ['', 'a b', 'x'.repeat(257), 'é', 'a/**', 'a\u0000b', 'a?b', '*']) {
    await expect4xx(
      `subscribe ${JSON.stringify(topic)}`,
      http(`${hub.url}/events?topic=${encodeURIComponent(topic)}`),
      400,
      'bad_topic',
    )
    await expect4xx(
      `publish ${JSON.stringify(topic)}`,
      publish(hub.url, { topic, data: 'x' }),
      400,
      'bad_topic',
    )
  }
})

test('a hostile Last-Event-ID still opens the stream and starts with lifeline:reset', async () => {
  for (const [name, headers, query] of [
    ['long header', { 'last-event-id': 'x'.repeat(8_000) }, ''],
    ['non-ASCII header', { 'last-event-id': Buffer.from('\u00ff\u00fe', 'latin1').toString('latin1') }, ''],
    ['control bytes in the query', {}, `&lastEventId=${encodeURIComponent('\u0001\u007f<script>')}`],
    ['unknown id', { 'last-event-id': 'zzz-1' }, ''],
  ] as const) {
    const s = await openStream(hub.url, `/events?topic=hostile${query}`, headers as Record<string, string>)
    try {
      const [first] = await s.waitFor(1)
      assert.equal(first!.type, 'lifeline:reset', name)
      const body = JSON.parse(first!.data) as { reason: string; lastEventId: string }
      assert.ok(['malformed', 'unknown'].includes(body.reason), `${name}: ${body.reason}`)
      assert.ok(body.lastEventId.length <= 128, name)
    } finally {
      s.close()
    }
  }
})

test('thousands of topics in one request get a clear 4xx', async () => {
  const thousand = Array.from({ length: 1_000 }, (_, i) => `topic=t${i}`).join('&')
  await expect4xx('1000 topics', http(`${hub.url}/events?${thousand}`), 400, 'too_many_topics')
  await expect4xx(
    '1000 topics published',
    publish(hub.url, { topic: Array.from({ length: 1_000 }, (_, i) => `t${i}`), data: 'x' }),
    400,
    'too_many_topics',
  )
  const fiveThousand = Array.from({ length: 5_000 }, (_, i) => `topic=topic-${i}`).join('&')
  const huge = await http(`${hub.url}/events?${fiveThousand}`)
  assert.ok(huge.status === 431 || huge.status === 400 || huge.status === 414, `status ${huge.status}`)
  assert.ok(['headers_too_large', 'too_many_topics'].includes(huge.json()['error'] as string), huge.body)
})

test('slowloris headers are cut off by --request-timeout', async () => {
  const socket = connect(Number(new URL(hub.url).port), '127.0.0.1')
  await once(socket, 'connect')
  const started = Date.now()
  let answer = ''
  socket.setEncoding('utf8').on('data', (c: string) => (answer += c))
  socket.on('error', () => {})
  socket.write('GET /events?topic=sweep HTTP/1.1\r\nHost: 127.0.0.1\r\n')
  const drip = setInterval(() => socket.writable && socket.write('X-Slow: a\r\n'), 200)
  await Promise.race([
    once(socket, 'close'),
    new Promise((_, reject) => setTimeout(() => reject(new Error('socket still open after 8 s')), 8_000)),
  ])
  clearInterval(drip)
  const elapsed = Date.now() - started
  assert.ok(elapsed < 5_000, `cut off after ${elapsed} ms`)
  if (answer) assert.match(answer, /^HTTP\/1\.1 408/)
})

test('a client that never reads is closed as a slow consumer while others keep up', async () => {
  const port = Number(new URL(hub.url).port)
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.on('error', () => {})
  socket.write('GET /events?topic=sweep HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n')
  socket.pause()
  const slowClosed = async () =>
    ((await metricValue(hub.url, 'lifeline_connections_closed_total{reason="buffer_overflow"}')) ?? 0) +
    ((await metricValue(hub.url, 'lifeline_connections_closed_total{reason="write_timeout"}')) ?? 0)
  // Well under --max-buffered, so a reading subscriber never overflows on one event.
  const big = 'b'.repeat(48 * 1024)
  const deadline = Date.now() + 30_000
  let closed = 0
  while (Date.now() < deadline && (closed = await slowClosed()) === 0) {
    await tick(big)
  }
  assert.ok(closed >= 1, 'the never-reading client was closed')
  socket.destroy()
})

test('the hub stayed healthy and the other subscribers received every event, in order', async () => {
  clearInterval(ticker)
  await tick('final')
  assert.equal(tickFailures, 0)
  assert.ok(published.length > 10, `${published.length} events published`)
  for (const w of watchers) {
    const events = await w.waitFor(published.length, 20_000)
    // Publishes overlap (the ticker and the test), so acknowledgements arrive in any order; the
    // stream must hold exactly the acknowledged ids, in the hub's id order.
    const seq = (id: string) => Number(id.slice(id.lastIndexOf('-') + 1))
    const got = events.map((e) => e.lastEventId)
    assert.deepEqual(
      got,
      [...published].sort((a, b) => seq(a) - seq(b)),
    )
    assert.ok(
      events.every((e) => e.type === 'message'),
      'no injected event type',
    )
  }
  const injected = watchers[0]!.events.find((e) => e.data.includes('hacked'))
  assert.equal(injected?.data, 'x\n\nevent: hacked\nid: 999\ndata: y\n')
  assert.equal((await http(`${hub.url}/healthz`)).status, 200)
  assert.equal(hub.child.exitCode, null)
})
