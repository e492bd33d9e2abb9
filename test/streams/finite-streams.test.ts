/**
 * Finite streams over Lifeline's own SSE (`/events?topic=<stream>`): joining without an id, the
 * durable close (`lifeline:end`, then the stream ends; a reconnect after it gets 204), resuming from
 * the stream store after the history ring evicted the stream, and our client stopping for good.
 * Real TCP on loopback, the hub app in-process.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type App, createApp } from '../../packages/lifeline-hub/src/app/app.ts'
import { EventSource } from '../../packages/lifeline-sse/src/client/index.ts'
import { type RedisServer, startRedisServer } from '../helpers/redis-server.ts'
import { http, openStream } from '../hub/serve-process.ts'

let app: App
let base: string
let n = 0

for (const backend of ['memory', 'redis'] as const) {
  describe(`finite streams over /events (${backend})`, () => {
    let redis: RedisServer | undefined
    before(async () => {
      if (backend === 'redis') redis = await startRedisServer()
      // A tiny history ring: finite streams must not depend on it.
      app = await createApp({
        port: 0,
        host: '127.0.0.1',
        logLevel: 'silent',
        historySize: 5,
        ...(redis ? { redis: redis.url } : {}),
      })
      base = await app.listen()
      const deadline = Date.now() + 10_000
      while (!app.hub.ready() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    })
    after(async () => {
      await app.close()
      await redis?.stop()
    })
    behaviours()
  })
}

async function createStream(entries: string[], close = false): Promise<string> {
  const name = `answers/${++n}`
  const put = await http(`${base}/v1/stream/${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'text/plain' },
  })
  assert.equal(put.status, 201)
  for (const text of entries) await append(name, text)
  if (close) await closeStream(name)
  return name
}

async function append(name: string, text: string): Promise<void> {
  const r = await http(`${base}/v1/stream/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: text,
  })
  assert.equal(r.status, 204, r.body)
}

async function closeStream(name: string): Promise<void> {
  const r = await http(`${base}/v1/stream/${name}`, { method: 'POST', headers: { 'stream-closed': 'true' } })
  assert.equal(r.status, 204, r.body)
}

function behaviours(): void {
  test('joining a closed stream from the start gets every entry, then lifeline:end, then the stream ends', async () => {
    const name = await createStream(['Hel', 'lo', ' world'], true)
    const s = await openStream(base, `/events?topic=${name}&from=start`)
    assert.equal(await s.ended, 'end')
    assert.deepEqual(
      s.events.map((e) => [e.type, e.data]),
      [
        ['message', 'Hel'],
        ['message', 'lo'],
        ['message', ' world'],
        ['lifeline:end', s.events[3]?.data],
      ],
    )
    const ids = s.events.map((e) => e.lastEventId)
    assert.equal(new Set(ids).size, 4, 'every event, the end marker included, has its own id')
  })

  test('a reconnect with the end marker as Last-Event-ID is answered 204', async () => {
    const name = await createStream(['a'], true)
    const s = await openStream(base, `/events?topic=${name}&from=start`)
    await s.ended
    const endId = s.events.at(-1)?.lastEventId as string
    const again = await http(`${base}/events?topic=${name}`, { headers: { 'last-event-id': endId } })
    assert.equal(again.status, 204)
    const tail = await http(`${base}/events?topic=${name}&from=now`)
    assert.equal(tail.status, 204, 'joining a closed stream at its tail gets nothing: 204')
  })

  test('a resume from the middle of a closed stream gets the rest, then the end', async () => {
    const name = await createStream(['1', '2', '3'], true)
    const all = await openStream(base, `/events?topic=${name}&from=start`)
    await all.ended
    const first = all.events[0]?.lastEventId as string
    const rest = await openStream(base, `/events?topic=${name}`, { 'last-event-id': first })
    assert.equal(await rest.ended, 'end')
    assert.deepEqual(
      rest.events.map((e) => e.data),
      ['2', '3', all.events[3]?.data],
    )
  })

  test('a live subscriber gets appends as they come, then the end marker, and its stream ends', async () => {
    const name = await createStream(['first'])
    const s = await openStream(base, `/events?topic=${name}&from=start`)
    await s.waitFor(1)
    await append(name, 'second')
    await s.waitFor(2)
    await closeStream(name)
    assert.equal(await s.ended, 'end')
    assert.deepEqual(
      s.events.map((e) => e.type),
      ['message', 'message', 'lifeline:end'],
    )
    assert.deepEqual(
      s.events.slice(0, 2).map((e) => e.data),
      ['first', 'second'],
    )
  })

  test('from=last:2 joins with the last two entries; from=now with none', async () => {
    const name = await createStream(['a', 'b', 'c', 'd'])
    const last = await openStream(base, `/events?topic=${name}&from=last:2`)
    await last.waitFor(2)
    const now = await openStream(base, `/events?topic=${name}&from=now`)
    await append(name, 'e')
    await last.waitFor(3)
    await now.waitFor(1)
    assert.deepEqual(
      last.events.map((e) => e.data),
      ['c', 'd', 'e'],
    )
    assert.deepEqual(
      now.events.map((e) => e.data),
      ['e'],
    )
    last.close()
    now.close()
  })

  test('a Last-Event-ID resumes from the stream after the history ring evicted it', async () => {
    const name = await createStream(['x1', 'x2', 'x3'])
    const s = await openStream(base, `/events?topic=${name}&from=start`)
    await s.waitFor(3)
    s.close()
    // Push the stream's events out of the 5-event ring.
    for (let i = 0; i < 10; i++) {
      const r = await http(`${base}/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ topic: 'noise', data: String(i) }),
      })
      assert.equal(r.status, 201)
    }
    const resumed = await openStream(base, `/events?topic=${name}`, {
      'last-event-id': s.events[0]?.lastEventId as string,
    })
    await resumed.waitFor(2)
    assert.deepEqual(
      resumed.events.map((e) => [e.type, e.data]),
      [
        ['message', 'x2'],
        ['message', 'x3'],
      ],
      'no lifeline:reset: the stream store still holds the stream',
    )
    resumed.close()
  })

  test('an invalid from= is a 400 with a JSON reason', async () => {
    const r = await http(`${base}/events?topic=anything&from=yesterday`)
    assert.equal(r.status, 400)
    assert.deepEqual([r.json()['error'], r.json()['code']], ['bad_query', 'LIFELINE_ERR_QUERY_INVALID'])
  })

  test('a publish retried with the same Idempotency-Key is stored once and answers the original id', async () => {
    const name = await createStream([])
    const send = () =>
      http(`${base}/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'answer-7-token-1' },
        body: JSON.stringify({ topic: name, data: 'tok' }),
      })
    const first = await send()
    const again = await send()
    assert.equal(first.status, 201, first.body)
    assert.equal(again.status, 200, again.body)
    assert.equal(again.json()['id'], first.json()['id'])
    assert.equal(again.json()['duplicate'], true)
    const read = await http(`${base}/v1/stream/${name}?offset=-1`)
    assert.equal(read.body, 'tok')
  })

  test('a batch to one stream is stored whole once; its retry answers the same ids', async () => {
    const name = await createStream([])
    const send = () =>
      http(`${base}/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'batch-1' },
        body: JSON.stringify([
          { topic: name, data: 'a' },
          { topic: name, data: 'b' },
        ]),
      })
    const first = await send()
    const again = await send()
    assert.equal(first.status, 201, first.body)
    assert.equal((first.json()['ids'] as string[]).length, 2)
    assert.deepEqual(again.json()['ids'], first.json()['ids'])
    assert.equal((await http(`${base}/v1/stream/${name}?offset=-1`)).body, 'ab')
  })

  test('an idempotent publish to a topic that is not a finite stream is a 400', async () => {
    const r = await http(`${base}/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'k' },
      body: JSON.stringify({ topic: 'plain-topic', data: 'x' }),
    })
    assert.equal(r.status, 400)
    assert.equal(r.json()['error'], 'bad_request')
  })

  test('an NDJSON publish streams: each line reaches subscribers while the request is still open', async () => {
    const name = await createStream([])
    const s = await openStream(base, `/events?topic=${name}&from=start`)
    const { request } = await import('node:http')
    const req = request(`${base}/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      agent: false,
    })
    const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (c: string) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      req.on('error', reject)
    })
    req.write(`${JSON.stringify({ topic: name, data: 'one', key: 'l1' })}\n`)
    await s.waitFor(1)
    req.write(
      `${JSON.stringify({ topic: name, data: 'two', key: 'l2' })}\n${JSON.stringify({ topic: name, data: 'one', key: 'l1' })}\n`,
    )
    req.end()
    const answer = await answered
    assert.equal(answer.status, 201, answer.body)
    const ids = (JSON.parse(answer.body) as { ids: string[] }).ids
    assert.equal(ids.length, 3)
    assert.equal(ids[2], ids[0], 'the repeated line (same key) answers its first id')
    await s.waitFor(2)
    assert.deepEqual(
      s.events.map((e) => e.data),
      ['one', 'two'],
    )
    s.close()
  })

  test('our client stops for good on lifeline:end and does not reconnect', async () => {
    const name = await createStream(['p', 'q'], true)
    const opened = app.hub.stats().opened
    const es = new EventSource(`${base}/events?topic=${name}&from=start`)
    const got: string[] = []
    es.onmessage = (e) => got.push(String(e.data))
    const ended = new Promise<void>((resolve) => es.addEventListener('lifeline:end', () => resolve()))
    await Promise.race([
      ended,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no lifeline:end in 10 s')), 10_000)),
    ])
    assert.equal(es.readyState, EventSource.CLOSED)
    assert.deepEqual(got, ['p', 'q'])
    // Longer than the client's first reconnect delay would be: nothing new was opened.
    await new Promise((r) => setTimeout(r, 1_500))
    assert.equal(app.hub.stats().opened, opened + 1)
  })
}
