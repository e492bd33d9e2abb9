/**
 * The shipped deploy/haproxy.cfg, rendered by deploy/render.sh and run by Debian's HAProxy on loopback
 * in front of real `lifeline serve` processes, with negative controls that remove what each property
 * depends on. Hubs start once for the file (in parallel); each test starts its own HAProxy and uses
 * its own client address (127.0.0.x).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  connections,
  deliveryMs,
  medianAddedDelayMs,
  openStream,
  publish,
  type RunningHub,
  startHaproxy,
  startHub,
  streamsOn,
} from '../helpers/proxies.ts'
import { type RedisServer, startRedisServer } from '../helpers/redis-server.ts'

/** HAProxy's `timeout server` / `timeout client` in the test, and a heartbeat well under it. */
const READ_TIMEOUT = '2s'
const READ_TIMEOUT_MS = 2_000
const HEARTBEAT = '500ms'
const DELIVERY_BOUND_MS = 100

type T = { after: (fn: () => Promise<void> | void) => void }

describe('HAProxy with deploy/haproxy.cfg', () => {
  let redis: RedisServer
  let hub: RunningHub
  let silent: RunningHub
  let nodeA: RunningHub
  let nodeB: RunningHub

  before(async () => {
    redis = await startRedisServer()
    const cluster = [
      '--heartbeat',
      HEARTBEAT,
      '--redis',
      redis.url,
      '--redis-prefix',
      `haproxy-${process.pid}`,
    ]
    ;[hub, silent, nodeA, nodeB] = await Promise.all([
      startHub(['--heartbeat', HEARTBEAT, '--trust-proxy', '127.0.0.1', '--max-connections-per-ip', '1']),
      startHub(['--heartbeat', '0', '--trust-proxy', '127.0.0.1']),
      startHub(cluster),
      startHub(cluster),
    ])
  })
  after(async () => {
    await Promise.all([hub, silent, nodeA, nodeB].map((h) => h?.close()))
    await redis?.stop()
  })

  async function haproxyFor(t: T, upstreams: RunningHub[], edits: Array<[string, string]> = []) {
    const haproxy = await startHaproxy({
      upstreams: upstreams.map((h) => h.address),
      vars: { READ_TIMEOUT },
      edits,
    })
    t.after(() => haproxy.close())
    return haproxy
  }

  test('events leave HAProxy within 100 ms of the hub writing them (median of 5)', async (t) => {
    const haproxy = await haproxyFor(t, [hub])
    const probe = await openStream(t, `${haproxy.url}/events?topic=fast`, {}, '127.0.0.4')
    assert.equal(probe.status, 200)
    await probe.waitFor(() => probe.firstByteAt >= 0, 5_000, 'the first bytes')
    await publish(hub.url, 'warm-up', 'x')
    const direct = await openStream(t, `${hub.url}/events?topic=fast`, {}, '127.0.0.14')
    await direct.waitFor(() => direct.firstByteAt >= 0, 5_000, 'the first bytes')
    const { median, added, endToEnd } = await medianAddedDelayMs(probe, direct, hub.url, 'fast')
    assert.ok(
      median < DELIVERY_BOUND_MS,
      `HAProxy added ${added.join(', ')} ms (publish -> arrival through it: ${endToEnd.join(', ')} ms)`,
    )
  })

  // HAProxy does not buffer, but it asks the kernel to coalesce small writes (MSG_MORE): an event then
  // waits for the client's delayed ACK. The shipped `option http-no-delay` is what keeps it prompt.
  test('negative control: without option http-no-delay every event is held about 200 ms', async (t) => {
    const haproxy = await haproxyFor(t, [hub], [['    option http-no-delay\n', '']])
    const probe = await openStream(t, `${haproxy.url}/events?topic=held`, {}, '127.0.0.6')
    assert.equal(probe.status, 200)
    await probe.waitFor(() => probe.firstByteAt >= 0, 5_000, 'the first bytes')
    await publish(hub.url, 'warm-up', 'x')
    const direct = await openStream(t, `${hub.url}/events?topic=held`, {}, '127.0.0.16')
    await direct.waitFor(() => direct.firstByteAt >= 0, 5_000, 'the first bytes')
    const { median, added } = await medianAddedDelayMs(probe, direct, hub.url, 'held')
    assert.ok(median >= DELIVERY_BOUND_MS, `HAProxy added only ${added.join(', ')} ms: events not held back`)
  })

  test('an idle stream survives 3 x the timeout thanks to heartbeats', async (t) => {
    const haproxy = await haproxyFor(t, [hub])
    const probe = await openStream(t, `${haproxy.url}/events?topic=idle`, {}, '127.0.0.5')
    assert.equal(probe.status, 200)
    const ended = await probe.waitForEnd(3 * READ_TIMEOUT_MS + 500).catch(() => undefined)
    assert.equal(ended, undefined, `the stream ended: ${JSON.stringify(ended)}`)
    assert.ok(probe.comments.length >= 6, `only ${probe.comments.length} comments arrived`)
    assert.notEqual(await deliveryMs(probe, hub.url, 'idle', 'still-here', 5_000), undefined)
  })

  test('negative control: without heartbeats HAProxy cuts an idle stream at its timeout', async (t) => {
    const haproxy = await haproxyFor(t, [silent])
    const probe = await openStream(t, `${haproxy.url}/events?topic=idle`)
    assert.equal(probe.status, 200)
    const ended = await probe.waitForEnd(3 * READ_TIMEOUT_MS)
    const silence = ended.at - probe.lastByteAt()
    assert.ok(
      silence >= READ_TIMEOUT_MS * 0.8 && silence <= READ_TIMEOUT_MS * 2,
      `cut after ${silence} ms of silence`,
    )
  })

  test('a stream resumes through HAProxy on another hub with Last-Event-ID (cluster mode on Redis)', async (t) => {
    const haproxy = await haproxyFor(t, [nodeA, nodeB])
    // The first stream stays open, so leastconn sends the reconnect to the other hub.
    const first = await openStream(t, `${haproxy.url}/events?topic=orders`)
    await first.waitFor(() => first.firstByteAt >= 0, 5_000, 'the first bytes')
    await publish(haproxy.url, 'orders', 'one')
    const one = await first.waitForEvent((e) => e.data === 'one', 5_000)
    await publish(haproxy.url, 'orders', 'two')
    await publish(haproxy.url, 'orders', 'three')
    await first.waitForEvent((e) => e.data === 'three', 5_000)

    const resumed = await openStream(t, `${haproxy.url}/events?topic=orders`, {
      'last-event-id': one.lastEventId,
    })
    await resumed.waitForEvent((e) => e.data === 'three', 5_000)
    assert.deepEqual(
      resumed.events.map((e) => e.data),
      ['two', 'three'],
      'replayed exactly what followed the id, with no reset',
    )
    const holders = await Promise.all([nodeA, nodeB].map((h) => streamsOn(h.url, 'orders')))
    assert.deepEqual(
      holders,
      [1, 1],
      'each hub holds one of the two streams: the resume ran on the other hub',
    )
  })

  test('per-IP limits see the real client address through HAProxy, and a forged X-Forwarded-For is ignored', async (t) => {
    const haproxy = await haproxyFor(t, [hub])
    const url = `${haproxy.url}/events?topic=ip`
    const two = await openStream(t, url, {}, '127.0.0.2')
    const three = await openStream(t, url, { 'x-forwarded-for': '127.0.0.9' }, '127.0.0.3')
    assert.equal(two.status, 200)
    assert.equal(three.status, 200, 'a second client address gets its own allowance')
    const again = await openStream(t, url, { 'x-forwarded-for': '10.1.2.3' }, '127.0.0.2')
    assert.equal(again.status, 429, 'a forged X-Forwarded-For does not buy a new allowance')
    const addresses = (await connections(hub.url))
      .filter((c) => c.topics.includes('ip'))
      .map((c) => c.remoteAddress)
      .sort()
    assert.deepEqual(addresses, ['127.0.0.2', '127.0.0.3'])
  })
})
