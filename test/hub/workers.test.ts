/**
 * `lifeline serve --workers N` as users run it: the real CLI, N worker processes on one port
 * (SO_REUSEPORT), real TCP. Which worker answered is read from the `x-lifeline-worker` header, so a
 * test can prove that streams, publishes and resumes crossed workers.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startRedisServer } from '../helpers/redis-server.ts'
import {
  type Answer,
  http,
  metricValue,
  openStream,
  publish,
  type ServeProcess,
  type SseStream,
  startServe,
} from './serve-process.ts'

const ATTEMPTS = 200

function workerOf(s: SseStream | Answer): string {
  const h = 'res' in s ? s.res.headers['x-lifeline-worker'] : s.headers['x-lifeline-worker']
  assert.equal(typeof h, 'string', 'every answer names its worker')
  return h as string
}

/** One open stream on each of `count` workers (connections land where the kernel puts them). */
async function streamPerWorker(url: string, path: string, count: number): Promise<Map<string, SseStream>> {
  const byWorker = new Map<string, SseStream>()
  for (let i = 0; i < ATTEMPTS && byWorker.size < count; i++) {
    const s = await openStream(url, path)
    const w = workerOf(s)
    if (byWorker.has(w)) s.close()
    else byWorker.set(w, s)
  }
  assert.equal(byWorker.size, count, `streams reached ${byWorker.size} of ${count} workers`)
  return byWorker
}

function seqOf(id: string | undefined): number {
  return Number(String(id).slice(String(id).lastIndexOf('-') + 1))
}

async function until(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

async function serve(t: { after(fn: () => unknown): void }, args: string[]): Promise<ServeProcess> {
  const hub = await startServe(args, { LIFELINE_LOG_LEVEL: 'info' })
  t.after(() => hub.stop('SIGKILL'))
  return hub
}

test('a publish on any worker reaches the streams of every worker, with one id', async (t) => {
  const hub = await serve(t, ['--workers', '4'])
  const streams = await streamPerWorker(hub.url, '/events?topic=all', 4)
  const acks = new Set<string>()
  for (let i = 0; i < 8; i++) {
    const a = await publish(hub.url, { topic: 'all', data: `m${i}` })
    assert.equal(a.status, 201)
    acks.add(workerOf(a))
  }
  assert.ok(acks.size >= 2, `publishes landed on ${acks.size} workers`)
  const seen: string[][] = []
  for (const s of streams.values()) {
    const events = await s.waitFor(8)
    seen.push(events.map((e) => `${e.lastEventId} ${e.data}`))
    s.close()
  }
  for (const list of seen)
    assert.deepEqual(list, seen[0], 'every worker delivers the same ids in the same order')
  const seqs = seen[0]!.map((line) => seqOf(line.split(' ')[0]))
  assert.deepEqual(
    seqs,
    [...seqs].sort((a, b) => a - b),
    'ids increase in one total order',
  )
})

for (const workers of [2, 4]) {
  test(`${workers} workers: a client that keeps reconnecting resumes on any worker with no gap, no duplicate, in order`, async (t) => {
    const hub = await serve(t, ['--workers', String(workers)])
    const total = 300
    const received: { id: string; data: string }[] = []
    const visited = new Set<string>()
    let published = 0
    // The first stream is open before anything is published: every event is owed to the client.
    let next: SseStream | undefined = await openStream(hub.url, '/events?topic=r')
    const publisher = (async () => {
      while (published < total) {
        const batch = Array.from({ length: 5 }, () =>
          publish(hub.url, { topic: 'r', data: `e${++published}` }),
        )
        for (const a of await Promise.all(batch)) assert.equal(a.status, 201)
      }
    })()
    let lastId: string | undefined
    let done = false
    const publishing = publisher.then(() => {
      done = true
    })
    // Each stream reads a few events (or a moment), then drops; the next resumes wherever it lands.
    for (let round = 0; round < 500; round++) {
      const s =
        next ?? (await openStream(hub.url, '/events?topic=r', lastId ? { 'last-event-id': lastId } : {}))
      next = undefined
      visited.add(workerOf(s))
      // Until its first event the client has no position to resume from: it stays on that stream.
      if (lastId === undefined) await s.waitFor(1)
      await Promise.race([
        s.waitFor(1 + (round % 7), 3_000).catch(() => undefined),
        new Promise((r) => setTimeout(r, 5 + (round % 4) * 10)),
      ])
      s.close()
      for (const e of s.events) {
        assert.notEqual(e.type, 'lifeline:reset', `no reset: ${e.data}`)
        received.push({ id: e.lastEventId, data: e.data })
        lastId = e.lastEventId
      }
      if (done && received.length >= total) break
    }
    await publishing
    // What is left arrives on one last stream.
    if (received.length < total) {
      const s = await openStream(hub.url, '/events?topic=r', lastId ? { 'last-event-id': lastId } : {})
      visited.add(workerOf(s))
      await s.waitFor(total - received.length, 15_000)
      for (const e of s.events) received.push({ id: e.lastEventId, data: e.data })
      s.close()
    }
    assert.ok(visited.size >= 2, `the client resumed on ${visited.size} workers`)
    const seqs = received.map((e) => seqOf(e.id))
    assert.deepEqual(
      seqs,
      Array.from({ length: total }, (_, i) => i + 1),
      'every event once, in id order, across every resume',
    )
    assert.equal(new Set(received.map((e) => e.data)).size, total)
  })
}

test('a killed worker is restarted, and its clients resume elsewhere without losing an acknowledged event', async (t) => {
  const hub = await serve(t, ['--workers', '2'])
  const first = await hub.waitForLog((l) => l['worker'] === 1 && l.msg === 'worker 1 listening')
  const victim = first['pid'] as number
  // A stream on the worker that will die.
  let s: SseStream | undefined
  for (let i = 0; i < ATTEMPTS && !s; i++) {
    const o = await openStream(hub.url, '/events?topic=k')
    if (workerOf(o) === '1') s = o
    else o.close()
  }
  assert.ok(s, 'a stream on worker 1')
  const acked: string[] = []
  const received: string[] = []
  let stream: SseStream = s
  let lastId: string | undefined
  const publishOne = async (i: number) => {
    try {
      const a = await publish(hub.url, { topic: 'k', data: `k${i}` })
      if (a.status === 201) acked.push(a.json()['id'] as string)
    } catch {
      // The connection went down with the worker: not acknowledged, so not owed.
    }
  }
  for (let i = 0; i < 20; i++) await publishOne(i)
  process.kill(victim, 'SIGKILL')
  for (let i = 20; i < 60; i++) await publishOne(i)
  // The stream on the dead worker ended; resume (landing on the live worker or the restarted one).
  const collect = (from: SseStream) => {
    for (const e of from.events) {
      received.push(e.lastEventId)
      lastId = e.lastEventId
    }
  }
  await stream.ended
  collect(stream)
  const restarted = await hub.waitForLog(
    (l) => l['worker'] === 1 && l.msg === 'worker 1 listening' && l['pid'] !== victim,
    20_000,
  )
  assert.notEqual(restarted['pid'], victim)
  await hub.waitForLog((l) => l.msg === 'worker exited: restarting it' && l['worker'] === 1)
  for (let i = 60; i < 80; i++) await publishOne(i)
  stream = await openStream(hub.url, '/events?topic=k', lastId ? { 'last-event-id': lastId } : {})
  const last = acked[acked.length - 1]!
  await until(() => stream.events.some((e) => e.lastEventId === last), 'the last acknowledged event')
  collect(stream)
  stream.close()
  const got = new Set(received)
  for (const id of acked) assert.ok(got.has(id), `acknowledged ${id} was delivered`)
  const seqs = received.map(seqOf)
  assert.deepEqual(
    seqs,
    Array.from({ length: seqs.length }, (_, i) => i + 1),
    'no gap, no duplicate',
  )
})

test('stream limits hold across workers: per address and in total', async (t) => {
  const hub = await serve(t, [
    '--workers',
    '2',
    '--max-connections',
    '3',
    '--max-connections-per-ip',
    '2',
    '--trust-proxy',
    'loopback',
  ])
  const from = (ip: string) => ({ 'x-forwarded-for': ip })
  // Two streams of one address on two different workers.
  const a1 = await openStream(hub.url, '/events?topic=l', from('10.0.0.1'))
  let a2: SseStream | undefined
  for (let i = 0; i < ATTEMPTS && !a2; i++) {
    let o: SseStream
    try {
      o = await openStream(hub.url, '/events?topic=l', from('10.0.0.1'))
    } catch {
      await new Promise((r) => setTimeout(r, 20)) // a lease closed just now is still being returned
      continue
    }
    if (workerOf(o) !== workerOf(a1)) a2 = o
    else o.close()
  }
  assert.ok(a2, 'a second stream of 10.0.0.1 on the other worker')
  // A third from that address is refused whichever worker it reaches.
  const refusedOn = new Set<string>()
  for (let i = 0; i < 12; i++) {
    const r = await http(`${hub.url}/events?topic=l`, { headers: from('10.0.0.1') })
    assert.equal(r.status, 429)
    assert.equal(r.json()['error'], 'max_connections_per_ip')
    assert.ok(Number(r.headers['retry-after']) >= 1)
    refusedOn.add(workerOf(r))
  }
  assert.equal(refusedOn.size, 2, 'both workers refuse')
  // The hub total: 3 streams, the fourth (from a fresh address) is refused with 503.
  const b1 = await openStream(hub.url, '/events?topic=l', from('10.0.0.2'))
  for (let i = 0; i < 6; i++) {
    const r = await http(`${hub.url}/events?topic=l`, { headers: from(`10.0.1.${i}`) })
    assert.equal(r.status, 503)
    assert.equal(r.json()['error'], 'max_connections')
  }
  const rejected = await metricValue(hub.url, 'lifeline_connections_rejected_total{reason="max_connections"}')
  assert.equal(rejected, 6, 'one scrape counts the refusals of every worker')
  // A closed stream returns its lease: the address may open one again.
  a1.close()
  await until(async () => {
    try {
      ;(await openStream(hub.url, '/events?topic=l', from('10.0.0.3'))).close()
      return true
    } catch {
      return false
    }
  }, 'a lease returned')
  a2.close()
  b1.close()
})

test('/metrics, /api/connections and the dashboard answer for every worker, whichever worker is asked', async (t) => {
  const hub = await serve(t, ['--workers', '2'])
  const streams = await streamPerWorker(hub.url, '/events?topic=m', 2)
  const extra = await openStream(hub.url, '/events?topic=m')
  const open = streams.size + 1
  const askedMetrics = new Set<string>()
  const askedListing = new Set<string>()
  for (let i = 0; i < ATTEMPTS && (askedMetrics.size < 2 || askedListing.size < 2); i++) {
    const m = await http(`${hub.url}/metrics`)
    askedMetrics.add(workerOf(m))
    const line = m.body.split('\n').find((l) => l.startsWith('lifeline_connections '))
    assert.equal(line, `lifeline_connections ${open}`)
    assert.match(m.body, /^lifeline_max_connections 0$/m, 'a limit is not summed')
    assert.match(m.body, /^lifeline_ready 1$/m)
    const c = await http(`${hub.url}/api/connections`)
    askedListing.add(workerOf(c))
    assert.equal(c.json()['count'], open)
    const d = await http(`${hub.url}/dashboard/api/connections`)
    assert.equal(d.json()['total'], open, "the dashboard lists every worker's streams")
  }
  assert.equal(askedMetrics.size, 2)
  assert.equal(askedListing.size, 2)
  for (const s of streams.values()) s.close()
  extra.close()
})

test('SIGTERM on the primary drains every worker: streams end cleanly, exit 0', async (t) => {
  const hub = await serve(t, ['--workers', '2'])
  const streams = await streamPerWorker(hub.url, '/events?topic=d', 2)
  const code = await hub.stop('SIGTERM')
  assert.equal(code, 0)
  for (const s of streams.values()) {
    assert.equal(await s.ended, 'end', 'the stream ended with its final chunk, not a reset')
    assert.ok(s.retries.length >= 2, 'a jittered retry hint came before the end')
  }
  for (const w of [1, 2]) assert.ok(hub.logs.some((l) => l['worker'] === w && l.msg === 'stopped'))
  assert.ok(hub.logs.some((l) => l['role'] === 'primary' && l.msg === 'stopped'))
})

test('--workers with --redis: every worker is a cluster node; a publish on one reaches the others, resume crosses them', async (t) => {
  const redis = await startRedisServer()
  t.after(() => redis.stop())
  const hub = await serve(t, ['--workers', '2', '--redis', redis.url, '--redis-prefix', `w${Date.now()}:`])
  assert.equal(hub.logs.find((l) => l.msg.startsWith('lifeline hub listening'))?.['history'], 'redis')
  const streams = await streamPerWorker(hub.url, '/events?topic=rc', 2)
  const ids: string[] = []
  for (let i = 0; i < 6; i++) {
    const a = await publish(hub.url, { topic: 'rc', data: `r${i}` })
    assert.equal(a.status, 201)
    ids.push(a.json()['id'] as string)
  }
  for (const s of streams.values()) {
    const events = await s.waitFor(6)
    assert.deepEqual(
      events.map((e) => e.lastEventId),
      ids,
    )
    s.close()
  }
  // Resume from the third id on whichever workers the connections land: the Redis stream ids.
  const resumedOn = new Set<string>()
  for (let i = 0; i < ATTEMPTS && resumedOn.size < 2; i++) {
    const s = await openStream(hub.url, '/events?topic=rc', { 'last-event-id': ids[2]! })
    const events = await s.waitFor(3)
    assert.deepEqual(
      events.map((e) => e.lastEventId),
      ids.slice(3),
    )
    resumedOn.add(workerOf(s))
    s.close()
  }
  assert.equal(resumedOn.size, 2)
})

test('finite streams live once: created through one worker, appended through another, read and joined through any', async (t) => {
  const hub = await serve(t, ['--workers', '2'])
  const url = `${hub.url}/v1/stream/answer-1`
  const created = await http(url, {
    method: 'PUT',
    headers: { 'content-type': 'text/plain' },
    body: 'first ',
  })
  assert.equal(created.status, 201, created.body)
  const creator = workerOf(created)
  // Append through the other worker (connections land where the kernel puts them).
  let appended: Answer | undefined
  for (let i = 0; i < ATTEMPTS && !appended; i++) {
    const a = await http(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'second' })
    assert.ok(a.status === 204 || a.status === 200, `append answered ${a.status}: ${a.body}`)
    if (workerOf(a) !== creator) appended = a
  }
  assert.ok(appended, 'an append through the other worker')
  // Every worker reads the whole stream, and joins it from the start over /events.
  const readOn = new Set<string>()
  for (let i = 0; i < ATTEMPTS && readOn.size < 2; i++) {
    const r = await http(`${url}?offset=-1`)
    assert.equal(r.status, 200, r.body)
    assert.match(r.body, /^first (second)+$/)
    readOn.add(workerOf(r))
  }
  assert.equal(readOn.size, 2)
  const joined = await streamPerWorker(hub.url, '/events?topic=answer-1&from=start', 2)
  for (const s of joined.values()) {
    const events = await s.waitFor(2)
    assert.equal(events[0]!.data, 'first ')
    s.close()
  }
  // Closed through one worker: a reader on any worker sees the end.
  const closed = await http(url, { method: 'POST', headers: { 'stream-closed': 'true' } })
  assert.ok(closed.status === 204 || closed.status === 200, `close answered ${closed.status}: ${closed.body}`)
  for (let i = 0; i < 6; i++) {
    const h = await http(url, { method: 'HEAD' })
    assert.equal(h.headers['stream-closed'], 'true')
  }
})

test('--workers 1 is one process, as before (no worker header)', async (t) => {
  const hub = await serve(t, ['--workers', '1'])
  const r = await http(`${hub.url}/healthz`)
  assert.equal(r.status, 200)
  assert.equal(r.headers['x-lifeline-worker'], undefined)
})
