/**
 * The real `lifeline serve` process over HTTP: every route of docs/design.md §5, every error status with its
 * JSON body, and metrics that match what the test did.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  http,
  metricValue,
  openStream,
  publish,
  type ServeProcess,
  startServe,
  waitForMetric,
} from './serve-process.ts'

describe('lifeline serve routes', () => {
  let hub: ServeProcess
  before(async () => {
    hub = await startServe(['--heartbeat', '300ms', '--retry', '1s', '--max-topics', '8'])
  })
  after(async () => {
    await hub?.stop('SIGKILL')
  })

  test('GET /events answers an SSE head and sends retry and a comment at once', async () => {
    const s = await openStream(hub.url, '/events?topic=head')
    try {
      assert.equal(s.res.headers['content-type'], 'text/event-stream; charset=utf-8')
      assert.equal(s.res.headers['cache-control'], 'no-cache')
      assert.equal(s.res.headers['x-accel-buffering'], 'no')
      const deadline = Date.now() + 5_000
      while (s.retries.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      assert.ok(s.retries[0]! >= 800 && s.retries[0]! <= 1200, `retry ${s.retries[0]} within 1s +-20%`)
    } finally {
      s.close()
    }
  })

  test('POST /publish (JSON) answers 201 with the id and subscribers get the event', async () => {
    const s = await openStream(hub.url, '/events?topic=orders/*&topic=news')
    try {
      const a = await publish(hub.url, { topic: 'orders/7', data: { total: 3 }, event: 'order.created' })
      assert.equal(a.status, 201)
      const id = a.json()['id']
      assert.equal(typeof id, 'string')
      const b = await publish(hub.url, { topic: ['news', 'other'], data: 'one\r\ntwo\rthree\nfour' })
      assert.equal(b.status, 201)
      const events = await s.waitFor(2)
      assert.deepEqual(events[0], { type: 'order.created', data: '{"total":3}', lastEventId: id })
      assert.equal(events[1]!.type, 'message')
      assert.equal(events[1]!.data, 'one\ntwo\nthree\nfour')
      assert.equal(events[1]!.lastEventId, b.json()['id'])
    } finally {
      s.close()
    }
  })

  test('POST /publish (form) accepts repeated topic fields', async () => {
    const s1 = await openStream(hub.url, '/events?topic=form-a')
    const s2 = await openStream(hub.url, '/events?topic=form-b')
    try {
      const a = await http(`${hub.url}/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body: 'topic=form-a&topic=form-b&data=hello%20form&event=greet',
      })
      assert.equal(a.status, 201)
      const [e1] = await s1.waitFor(1)
      const [e2] = await s2.waitFor(1)
      assert.deepEqual(e1, { type: 'greet', data: 'hello form', lastEventId: a.json()['id'] })
      assert.deepEqual(e2, e1)
    } finally {
      s1.close()
      s2.close()
    }
  })

  test('a client resumes with Last-Event-ID and gets what it missed', async () => {
    const first = await publish(hub.url, { topic: 'resume', data: '1' })
    await publish(hub.url, { topic: 'resume', data: '2' })
    await publish(hub.url, { topic: 'resume', data: '3' })
    const s = await openStream(hub.url, '/events?topic=resume', {
      'last-event-id': first.json()['id'] as string,
    })
    try {
      const events = await s.waitFor(2)
      assert.deepEqual(
        events.map((e) => e.data),
        ['2', '3'],
      )
    } finally {
      s.close()
    }
  })

  test('GET /healthz, /readyz and / answer 200', async () => {
    const h = await http(`${hub.url}/healthz`)
    assert.equal(h.status, 200)
    assert.deepEqual(h.json(), { status: 'ok' })
    const r = await http(`${hub.url}/readyz`)
    assert.equal(r.status, 200)
    assert.deepEqual(r.json(), { status: 'ready' })
    const root = await http(`${hub.url}/`)
    assert.equal(root.status, 200)
  })

  test('GET /api/connections lists each open stream', async () => {
    const s = await openStream(hub.url, '/events?topic=listed', { 'user-agent': 'routes-test/1' })
    try {
      const a = await http(`${hub.url}/api/connections`)
      assert.equal(a.status, 200)
      const body = a.json() as { count: number; connections: Record<string, unknown>[] }
      const mine = body.connections.find((c) => c['userAgent'] === 'routes-test/1')
      assert.ok(mine, 'the stream is listed')
      assert.deepEqual(mine['topics'], ['listed'])
      assert.equal(mine['remoteAddress'], '127.0.0.1')
      for (const key of ['id', 'openedAt', 'lastWriteAt', 'bytesSent', 'eventsSent', 'bufferedBytes'])
        assert.ok(key in mine, key)
      assert.equal(body.count, body.connections.length)
      const settings = (a.json() as { settings: Record<string, unknown> }).settings
      assert.equal(settings['heartbeatMs'], 300, 'the knobs in force are visible')
      assert.equal(settings['retryMs'], 1_000)
      assert.equal(settings['maxTopics'], 8)
      assert.equal(settings['auth'], 'off')
    } finally {
      s.close()
    }
  })

  test('errors are JSON with the listed status and code', async () => {
    const cases: [string, Promise<Awaited<ReturnType<typeof http>>>, number, string][] = [
      ['unknown path', http(`${hub.url}/nope`), 404, 'not_found'],
      ['GET /publish', http(`${hub.url}/publish`), 405, 'method_not_allowed'],
      ['POST /events', http(`${hub.url}/events?topic=a`, { method: 'POST' }), 405, 'method_not_allowed'],
      ['no topic', http(`${hub.url}/events`), 400, 'bad_topic'],
      ['bad topic', http(`${hub.url}/events?topic=${encodeURIComponent('a b')}`), 400, 'bad_topic'],
      [
        'too many topics',
        http(`${hub.url}/events?${Array.from({ length: 9 }, (_, i) => `topic=t${i}`).join('&')}`),
        400,
        'too_many_topics',
      ],
      ['publish to a pattern', publish(hub.url, { topic: 'orders/*', data: 'x' }), 400, 'bad_topic'],
      ['publish without data', publish(hub.url, { topic: 'a' }), 400, 'bad_data'],
      [
        'bad JSON',
        http(`${hub.url}/publish`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"topic":',
        }),
        400,
        'bad_json',
      ],
      [
        'text/plain',
        http(`${hub.url}/publish`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' }),
        415,
        'unsupported_media_type',
      ],
      ['CR/LF event', publish(hub.url, { topic: 'a', data: 'x', event: 'a\r\nid: 1' }), 400, 'bad_event'],
      [
        'reserved event',
        publish(hub.url, { topic: 'a', data: 'x', event: 'lifeline:reset' }),
        400,
        'bad_event',
      ],
      [
        'over --max-body',
        http(`${hub.url}/publish`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: Buffer.alloc(2 * 1024 * 1024, 0x20),
        }),
        413,
        'body_too_large',
      ],
    ]
    for (const [name, pending, status, code] of cases) {
      const a = await pending
      assert.equal(a.status, status, `${name}: ${a.body}`)
      assert.match(String(a.headers['content-type']), /^application\/json/, name)
      const body = a.json()
      assert.equal(body['error'], code, name)
      assert.equal(typeof body['message'], 'string', name)
      assert.ok((body['message'] as string).length > 10, name)
    }
    const allow = await http(`${hub.url}/publish`)
    assert.equal(allow.headers['allow'], 'POST')
  })

  test('metrics match reality: open streams gauge, opened and closes by reason', async () => {
    await waitForMetric(hub.url, 'lifeline_connections', 0)
    const before = Number(
      (await http(`${hub.url}/metrics`)).body.match(
        /^lifeline_connections_closed_total\{reason="client_closed"\} (\d+)/m,
      )?.[1],
    )
    const streams = await Promise.all([1, 2, 3].map(() => openStream(hub.url, '/events?topic=gauge')))
    await waitForMetric(hub.url, 'lifeline_connections', 3)
    const p = await publish(hub.url, { topic: 'gauge', data: 'x' })
    assert.equal(p.status, 201)
    await Promise.all(streams.map((s) => s.waitFor(1)))
    streams[0]!.close()
    streams[1]!.close()
    await waitForMetric(hub.url, 'lifeline_connections', 1)
    await waitForMetric(hub.url, 'lifeline_connections_closed_total{reason="client_closed"}', before + 2)
    const text = (await http(`${hub.url}/metrics`)).body
    for (const name of [
      'lifeline_connections_opened_total',
      'lifeline_connections_rejected_total{reason="max_connections"}',
      'lifeline_events_published_total',
      'lifeline_events_delivered_total',
      'lifeline_bytes_sent_total',
      'lifeline_heartbeats_sent_total',
      'lifeline_replayed_events_total',
      'lifeline_resets_total',
      'lifeline_publish_to_write_seconds_count',
      'lifeline_history_events',
      'lifeline_max_connections',
      'lifeline_max_connections_per_ip',
      'nodejs_eventloop_lag_seconds',
      'process_resident_memory_bytes',
    ]) {
      assert.match(text, new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} \\d`, 'm'), name)
    }
    // No limit configured: the limit gauges say 0 (alerts leave such hubs out).
    assert.equal(await metricValue(hub.url, 'lifeline_max_connections'), 0)
    assert.equal(await metricValue(hub.url, 'lifeline_max_connections_per_ip'), 0)
    streams[2]!.close()
    await waitForMetric(hub.url, 'lifeline_connections', 0)
  })

  test('connection open and close are logged with reason, duration, bytes and events', async () => {
    const s = await openStream(hub.url, '/events?topic=logged', { 'user-agent': 'log-test' })
    const open = await hub.waitForLog((l) => l.msg === 'connection open' && l['ua'] === 'log-test')
    s.close()
    const close = await hub.waitForLog((l) => l.msg === 'connection close' && l['conn'] === open['conn'])
    assert.equal(close['reason'], 'client_closed')
    assert.equal(close.level, 30)
    for (const key of ['durationMs', 'bytes', 'events', 'address']) assert.ok(key in close, key)
  })
})

describe('lifeline serve limits and timeouts', () => {
  let hub: ServeProcess
  before(async () => {
    hub = await startServe([
      '--max-connections',
      '2',
      '--max-connections-per-ip',
      '1',
      '--trust-proxy',
      'loopback',
      '--idle-timeout',
      '700ms',
      '--heartbeat',
      '200ms',
    ])
  })
  after(async () => {
    await hub?.stop('SIGKILL')
  })

  test('the configured limits are gauges, so alerts can compute streams near the limit', async () => {
    assert.equal(await metricValue(hub.url, 'lifeline_max_connections'), 2)
    assert.equal(await metricValue(hub.url, 'lifeline_max_connections_per_ip'), 1)
  })

  test('past --max-connections a stream gets 503 with Retry-After, counted as rejected', async () => {
    const a = await openStream(hub.url, '/events?topic=lim', { 'x-forwarded-for': '192.0.2.1' })
    const b = await openStream(hub.url, '/events?topic=lim', { 'x-forwarded-for': '192.0.2.2' })
    try {
      const c = await http(`${hub.url}/events?topic=lim`, { headers: { 'x-forwarded-for': '192.0.2.3' } })
      assert.equal(c.status, 503)
      assert.ok(Number(c.headers['retry-after']) >= 1)
      assert.equal(c.json()['error'], 'max_connections')
      await waitForMetric(hub.url, 'lifeline_connections_rejected_total{reason="max_connections"}', 1)
    } finally {
      a.close()
      b.close()
    }
    await waitForMetric(hub.url, 'lifeline_connections', 0)
  })

  test('behind a trusted proxy the forwarded address counts for per-IP limits and is listed', async () => {
    const a = await openStream(hub.url, '/events?topic=ip', { 'x-forwarded-for': '198.51.100.7, 127.0.0.1' })
    try {
      const again = await http(`${hub.url}/events?topic=ip`, {
        headers: { 'x-forwarded-for': '198.51.100.7' },
      })
      assert.equal(again.status, 429)
      assert.equal(again.json()['error'], 'max_connections_per_ip')
      assert.ok(Number(again.headers['retry-after']) >= 1)
      const other = await openStream(hub.url, '/events?topic=ip', { 'x-forwarded-for': '2001:db8::9' })
      const list = (await http(`${hub.url}/api/connections`)).json() as {
        connections: { remoteAddress: string }[]
      }
      assert.deepEqual(list.connections.map((c) => c.remoteAddress).sort(), ['198.51.100.7', '2001:db8::9'])
      other.close()
    } finally {
      a.close()
    }
    await waitForMetric(hub.url, 'lifeline_connections', 0)
  })

  test('a quiet stream closes cleanly with idle_timeout, heartbeats do not count, and the metric says so', async () => {
    // Streams of earlier tests in this block may also have gone quiet for 700 ms on a busy machine,
    // so the counter is compared with its value before this stream opened.
    const series = 'lifeline_connections_closed_total{reason="idle_timeout"}'
    const before = (await metricValue(hub.url, series)) ?? 0
    const s = await openStream(hub.url, '/events?topic=quiet')
    assert.equal(await s.ended, 'end')
    assert.ok(s.comments.filter((c) => c === 'ping').length >= 1, 'heartbeats were sent')
    await waitForMetric(hub.url, series, before + 1, 10_000, 'at least')
    const log = await hub.waitForLog((l) => l.msg === 'connection close' && l['reason'] === 'idle_timeout')
    assert.equal(log.level, 40, 'timeouts log at warn')
  })
})
