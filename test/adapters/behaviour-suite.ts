/**
 * One behaviour suite, run over every adapter (node:http, Express, Fastify, Hono on @hono/node-server):
 * each adapter file calls `behaviourSuite(name, mount)`. Every test opens real TCP streams on
 * 127.0.0.1 and awaits what it expects with a deadline.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { AdapterOptions } from '../../packages/lifeline-sse/src/adapters/open-stream.ts'
import { createHub } from '../../packages/lifeline-sse/src/server/hub.ts'
import type {
  CloseReason,
  Hub,
  HubOptions,
  StreamHandle,
} from '../../packages/lifeline-sse/src/server/types.ts'
import { openRaw, type RawStream } from '../server/sse-client.ts'

export interface Mounted {
  /** Base URL; streams are served at `${url}/events`. */
  readonly url: string
  close(): Promise<void>
}

/** Serves `GET /events` through the adapter under test; `options(request)` are passed to it. */
export type Mount = (hub: Hub, options: () => AdapterOptions) => Promise<Mounted>

interface Setup {
  hub: Hub
  url: string
  /** Close reasons in order, as the hub reported them. */
  reasons: CloseReason[]
  /** Streams as the handler saw them (their AbortSignal). */
  handles: StreamHandle[]
  open(query: string, headers?: Record<string, string>, localAddress?: string): Promise<RawStream>
}

async function setup(
  t: { after(fn: () => unknown): void },
  mount: Mount,
  options: HubOptions,
): Promise<Setup> {
  const hub = createHub({ heartbeatMs: 0, ...options })
  const reasons: CloseReason[] = []
  const handles: StreamHandle[] = []
  hub.on('close', (_info, reason) => reasons.push(reason))
  const mounted = await mount(hub, () => ({ onStream: (s) => handles.push(s) }))
  const streams: RawStream[] = []
  t.after(async () => {
    for (const s of streams) s.socket.destroy()
    await hub.close()
    await mounted.close()
  })
  return {
    hub,
    url: mounted.url,
    reasons,
    handles,
    async open(query, headers, localAddress) {
      const s = await openRaw(`${mounted.url}/events?${query}`, {
        ...(headers !== undefined ? { headers } : {}),
        ...(localAddress !== undefined ? { localAddress } : {}),
      })
      streams.push(s)
      return s
    },
  }
}

/** Awaits `promise` for at most `ms`: a test fails with a message, it never hangs. */
const within = <T>(what: string, promise: Promise<T>, ms = 10_000): Promise<T> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

const BIG = 'x'.repeat(64 * 1024)

export function behaviourSuite(adapter: string, mount: Mount): void {
  test(`${adapter}: answers with the SSE headers, then a jittered retry and a comment at once`, async (t) => {
    const s = await setup(t, mount, { retryMs: 3_000 })
    const stream = await s.open('topic=news')
    assert.equal(stream.status, 200)
    assert.equal(stream.headers.get('content-type')?.[0], 'text/event-stream; charset=utf-8')
    assert.equal(stream.headers.get('cache-control')?.[0], 'no-cache')
    assert.equal(stream.headers.get('x-accel-buffering')?.[0], 'no')
    assert.equal(stream.headers.get('connection')?.[0]?.toLowerCase(), 'keep-alive')
    await stream.waitFor(
      'retry and a comment',
      () => stream.retries.length === 1 && stream.comments.length >= 1,
    )
    const retry = stream.retries[0] as number
    assert.ok(retry >= 2_400 && retry <= 3_600, `retry ${retry} is within 3000 +-20%`)
    assert.match(stream.body(), /^retry: \d+\n\n: ok\n\n$/)
    assert.equal(s.hub.size, 1)
  })

  test(`${adapter}: sends a heartbeat only when nothing was written for the interval`, async (t) => {
    const HEARTBEAT = 600
    const s = await setup(t, mount, { heartbeatMs: HEARTBEAT })
    const stream = await s.open('topic=tick')
    await stream.waitFor('first bytes', () => stream.comments.includes('ok'))
    // Events every 50 ms for 1.5 heartbeat intervals: no ping may go out meanwhile. On a starved machine
    // this loop itself may stall; a stall of a whole interval makes one ping legitimate, so those are counted.
    const until = performance.now() + HEARTBEAT * 1.5
    let sent = 0
    let stalls = 0
    let last = performance.now()
    while (performance.now() < until) {
      await s.hub.publish('tick', { data: String(sent++) })
      const now = performance.now()
      if (now - last >= HEARTBEAT * 0.9) stalls++
      last = now
      await new Promise((r) => setTimeout(r, 50))
    }
    await stream.waitFor('all ticks', () => stream.events.length === sent)
    const pings = stream.comments.filter((c) => c === 'ping').length
    assert.ok(
      pings <= stalls,
      `${pings} heartbeats while events flowed (${stalls} stalls of the publishing loop)`,
    )
    const lastEventAt = performance.now()
    await stream.waitFor('a heartbeat once idle', () => stream.comments.includes('ping'), HEARTBEAT * 10)
    const quiet = performance.now() - lastEventAt
    assert.ok(quiet >= HEARTBEAT * 0.8, `heartbeat came after ${quiet.toFixed(0)} ms of silence`)
    assert.ok(s.hub.stats().heartbeats >= 1)
  })

  test(`${adapter}: closes a stream that carried no event for the idle timeout`, async (t) => {
    const s = await setup(t, mount, { idleTimeoutMs: 500, heartbeatMs: 100 })
    let idleReported = 0
    s.hub.on('idle', () => idleReported++)
    const stream = await s.open('topic=quiet')
    const opened = performance.now()
    const end = await within('the end of the stream', stream.ended)
    const lived = performance.now() - opened
    assert.equal(end.clean, true, 'ended with the final chunk, not a destroyed socket')
    assert.deepEqual(s.reasons, ['idle_timeout'])
    assert.ok(lived >= 450, `closed after ${lived.toFixed(0)} ms (heartbeats do not count as events)`)
    assert.ok(stream.comments.includes('ping'), 'heartbeats were sent meanwhile')
    assert.equal(idleReported, 1, 'one idle report per quiet period')
    assert.equal(s.hub.size, 0)
  })

  test(`${adapter}: closes a stream at its max lifetime (jittered) with a retry hint`, async (t) => {
    const s = await setup(t, mount, { maxLifetimeMs: 600 })
    const stream = await s.open('topic=long')
    const opened = performance.now()
    const end = await within('the end of the stream', stream.ended)
    const lived = performance.now() - opened
    assert.equal(end.clean, true)
    assert.deepEqual(s.reasons, ['max_lifetime'])
    assert.ok(lived >= 600 * 0.9 - 20, `lived ${lived.toFixed(0)} ms, at least 600 ms -10%`)
    assert.equal(stream.retries.length, 2, 'the first retry, and one more before the end')
  })

  test(`${adapter}: a client that stops reading is closed by write timeout while others keep receiving`, async (t) => {
    const s = await setup(t, mount, { writeTimeoutMs: 500, maxBufferedBytes: 256 * 1024 * 1024 })
    const slow = await s.open('topic=big')
    const fast = await s.open('topic=big')
    await slow.waitFor('first bytes', () => slow.comments.includes('ok'))
    slow.pause()
    let sent = 0
    const deadline = performance.now() + 20_000
    while (!s.reasons.includes('write_timeout') && performance.now() < deadline) {
      await s.hub.publish('big', { data: BIG })
      sent++
      await fast.waitFor(`event ${sent} on the reading client`, () => fast.events.length === sent)
    }
    assert.deepEqual(s.reasons, ['write_timeout'])
    // Read again: what the kernel held arrives, then the end, without the final chunk.
    slow.socket.resume()
    const end = await within('the slow stream to end', slow.ended)
    assert.equal(end.clean, false, 'a slow consumer is cut off, not drained')
    await s.hub.publish('big', { data: 'after' })
    await fast.waitFor('the reading client still receives', () => fast.events.at(-1)?.data === 'after')
    assert.equal(s.hub.size, 1)
  })

  test(`${adapter}: a client that stops reading is closed at once past maxBufferedBytes`, async (t) => {
    const s = await setup(t, mount, { writeTimeoutMs: 0, maxBufferedBytes: 512 * 1024 })
    const slow = await s.open('topic=big')
    const fast = await s.open('topic=big')
    await slow.waitFor('first bytes', () => slow.comments.includes('ok'))
    slow.pause()
    let sent = 0
    const deadline = performance.now() + 20_000
    while (!s.reasons.includes('buffer_overflow') && performance.now() < deadline) {
      await s.hub.publish('big', { data: BIG })
      sent++
      await fast.waitFor(`event ${sent} on the reading client`, () => fast.events.length === sent)
    }
    assert.deepEqual(s.reasons, ['buffer_overflow'])
    slow.socket.resume()
    assert.equal((await within('the slow stream to end', slow.ended)).clean, false)
    assert.equal(s.hub.size, 1)
  })

  test(`${adapter}: client disconnect fires the AbortSignal and removes the connection at once`, async (t) => {
    const s = await setup(t, mount, {})
    const stream = await s.open('topic=bye')
    await stream.waitFor('first bytes', () => stream.comments.includes('ok'))
    assert.equal(s.handles.length, 1)
    const signal = (s.handles[0] as StreamHandle).signal
    const aborted = new Promise<unknown>((resolve) =>
      signal.addEventListener('abort', () => resolve(signal.reason)),
    )
    stream.close()
    assert.equal(await within('the abort signal', aborted), 'client_closed')
    assert.equal(s.hub.size, 0)
    assert.deepEqual(s.reasons, ['client_closed'])
    assert.equal(s.hub.connections().length, 0)
  })

  test(`${adapter}: refuses streams past the limits with 503 / 429, JSON and Retry-After`, async (t) => {
    const s = await setup(t, mount, { maxConnections: 2, maxConnectionsPerIp: 1 })
    const a = await s.open('topic=x', {}, '127.0.0.2')
    assert.equal(a.status, 200)
    const sameIp = await s.open('topic=x', {}, '127.0.0.2')
    assert.equal(sameIp.status, 429)
    assert.ok(Number(sameIp.headers.get('retry-after')?.[0]) >= 1)
    await sameIp.waitFor('a JSON body', () => sameIp.body().endsWith('}'))
    assert.equal(JSON.parse(sameIp.body()).error, 'max_connections_per_ip')
    const b = await s.open('topic=x', {}, '127.0.0.3')
    assert.equal(b.status, 200)
    const full = await s.open('topic=x', {}, '127.0.0.4')
    assert.equal(full.status, 503)
    assert.ok(Number(full.headers.get('retry-after')?.[0]) >= 1)
    await full.waitFor('a JSON body', () => full.body().endsWith('}'))
    assert.equal(JSON.parse(full.body()).error, 'max_connections')
    const bad = await s.open('topic=no%20spaces', {}, '127.0.0.5')
    assert.equal(bad.status, 400)
    await bad.waitFor('a JSON body', () => bad.body().endsWith('}'))
    // The same answer the hub gives a bad topic: `error` from LIFELINE_ERRORS, the code beside it.
    assert.deepEqual(
      { error: JSON.parse(bad.body()).error, code: JSON.parse(bad.body()).code },
      { error: 'bad_topic', code: 'LIFELINE_ERR_TOPIC_INVALID' },
    )
    const stats = s.hub.stats()
    assert.equal(stats.rejected.max_connections_per_ip, 1)
    assert.equal(stats.rejected.max_connections, 1)
    assert.equal(s.hub.size, 2)
  })

  test(`${adapter}: graceful drain sends each stream a retry hint, ends it cleanly and refuses new ones`, async (t) => {
    const s = await setup(t, mount, { retryMs: 1_000 })
    const a = await s.open('topic=x')
    const b = await s.open('topic=y')
    await a.waitFor('first bytes', () => a.comments.includes('ok'))
    await b.waitFor('first bytes', () => b.comments.includes('ok'))
    const closing = s.hub.close()
    assert.equal(s.hub.draining, true)
    assert.equal(s.hub.ready(), false)
    const [endA, endB] = await within('both streams to end', Promise.all([a.ended, b.ended]))
    await within('hub.close()', closing)
    assert.equal(endA.clean, true)
    assert.equal(endB.clean, true)
    assert.equal(a.retries.length, 2)
    assert.equal(b.retries.length, 2)
    assert.deepEqual(s.reasons, ['shutdown', 'shutdown'])
    const late = await s.open('topic=x')
    assert.equal(late.status, 503)
    await late.waitFor('a JSON body', () => late.body().endsWith('}'))
    assert.equal(JSON.parse(late.body()).error, 'draining')
  })

  test(`${adapter}: delivers each event once to matching topics, then resumes after Last-Event-ID`, async (t) => {
    const s = await setup(t, mount, {})
    const stream = await s.open('topic=a&topic=b/*')
    await stream.waitFor('first bytes', () => stream.comments.includes('ok'))
    const first = await s.hub.publish(['a', 'b/x'], { data: 'both' })
    await s.hub.publish('c', { data: 'other topic' })
    const third = await s.hub.publish('b/y', { data: 'line 1\r\nline 2', event: 'multi' })
    await stream.waitFor('two events', () => stream.events.length === 2)
    assert.deepEqual(stream.events, [
      { type: 'message', data: 'both', id: first },
      { type: 'multi', data: 'line 1\nline 2', id: third },
    ])
    const resumed = await s.open('topic=a&topic=b/*', { 'Last-Event-ID': first })
    await resumed.waitFor('the replayed event', () => resumed.events.length === 1)
    assert.equal(resumed.events[0]?.id, third)
    const fourth = await s.hub.publish('a', { data: 'live' })
    await resumed.waitFor('the live event', () => resumed.events.length === 2)
    assert.equal(resumed.events[1]?.id, fourth)
    const unknown = await s.open(`topic=a&lastEventId=${encodeURIComponent('not-an-id')}`)
    await unknown.waitFor('a reset', () => unknown.events.length === 1)
    assert.equal(unknown.events[0]?.type, 'lifeline:reset')
    assert.deepEqual(JSON.parse(unknown.events[0]?.data ?? ''), {
      reason: 'unknown',
      lastEventId: 'not-an-id',
    })
  })
}
