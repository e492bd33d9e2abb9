/**
 * The shipped deploy/nginx.conf, rendered by deploy/render.sh and run by Debian's nginx on loopback in
 * front of real `lifeline serve` processes. Each property has a negative control that flips the one
 * setting (or hub flag) it depends on and shows the failure, so the test proves the setting matters.
 * Hubs start once for the file (in parallel); each test starts its own nginx and streams, and uses its
 * own client address (127.0.0.x) so per-IP counts of one test never touch another.
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
  startHub,
  startNginx,
  streamsOn,
} from '../helpers/proxies.ts'
import { type RedisServer, startRedisServer } from '../helpers/redis-server.ts'

/** Small timeouts keep the suite short: the proxy's read timeout and a heartbeat well under it. */
const READ_TIMEOUT = '2s'
const READ_TIMEOUT_MS = 2_000
const HEARTBEAT = '500ms'
/** The bound the issue sets for an event through the proxy, publish -> arrival. */
const DELIVERY_BOUND_MS = 100

type T = { after: (fn: () => Promise<void> | void) => void }

describe('nginx with deploy/nginx.conf', () => {
  let redis: RedisServer
  /** Heartbeats, trusts nginx, one stream per client address. */
  let hub: RunningHub
  /** No heartbeats (negative controls). */
  let silent: RunningHub
  /** Does not trust nginx (negative control of the per-IP limit). */
  let untrusting: RunningHub
  /** Two cluster nodes sharing one Redis. */
  let nodeA: RunningHub
  let nodeB: RunningHub

  before(async () => {
    redis = await startRedisServer()
    const cluster = ['--heartbeat', HEARTBEAT, '--redis', redis.url, '--redis-prefix', `nginx-${process.pid}`]
    ;[hub, silent, untrusting, nodeA, nodeB] = await Promise.all([
      startHub(['--heartbeat', HEARTBEAT, '--trust-proxy', '127.0.0.1', '--max-connections-per-ip', '1']),
      startHub(['--heartbeat', '0', '--trust-proxy', '127.0.0.1']),
      startHub(['--heartbeat', HEARTBEAT, '--max-connections-per-ip', '1']),
      startHub(cluster),
      startHub(cluster),
    ])
  })
  after(async () => {
    await Promise.all([hub, silent, untrusting, nodeA, nodeB].map((h) => h?.close()))
    await redis?.stop()
  })

  async function nginxFor(t: T, upstreams: RunningHub[], edits: Array<[string, string]> = []) {
    const nginx = await startNginx({
      upstreams: upstreams.map((h) => h.address),
      vars: { READ_TIMEOUT },
      edits,
    })
    t.after(() => nginx.close())
    return nginx
  }

  test('events leave nginx within 100 ms of the hub writing them (median of 5)', async (t) => {
    const nginx = await nginxFor(t, [hub])
    const probe = await openStream(t, `${nginx.url}/events?topic=fast`, {}, '127.0.0.4')
    assert.equal(probe.status, 200)
    await probe.waitFor(() => probe.firstByteAt >= 0, 5_000, 'the first bytes')
    // Warm the publisher's connection so the measure is the stream path, not a TCP handshake.
    await publish(hub.url, 'warm-up', 'x')
    const direct = await openStream(t, `${hub.url}/events?topic=fast`, {}, '127.0.0.14')
    await direct.waitFor(() => direct.firstByteAt >= 0, 5_000, 'the first bytes')
    const { median, added, endToEnd } = await medianAddedDelayMs(probe, direct, hub.url, 'fast')
    assert.ok(
      median < DELIVERY_BOUND_MS,
      `nginx added ${added.join(', ')} ms (publish -> arrival through it: ${endToEnd.join(', ')} ms)`,
    )
  })

  // nginx forwards what it has read even with buffering on, until something else holds the bytes: a
  // site-wide `gzip on` with text/event-stream in gzip_types is the usual one. The shipped file keeps
  // streams unbuffered and uncompressed; flipping both (and ignoring the hub's X-Accel-Buffering: no)
  // holds the event until the read timeout.
  test('negative control: with proxy_buffering on and gzip on the event is held back', async (t) => {
    const nginx = await nginxFor(
      t,
      [silent],
      [
        ['proxy_buffering off;', 'proxy_buffering on; proxy_ignore_headers X-Accel-Buffering;'],
        ['gzip off;', 'gzip on; gzip_types text/event-stream;'],
      ],
    )
    const probe = await openStream(t, `${nginx.url}/events?topic=slow`)
    assert.equal(probe.status, 200)
    await publish(silent.url, 'warm-up', 'x')
    const ms = await deliveryMs(probe, silent.url, 'slow', 'held', 1_500)
    assert.equal(ms, undefined, `the event arrived in ${ms} ms: buffering did not hold it back`)
  })

  test('an idle stream survives 3 x the read timeout thanks to heartbeats', async (t) => {
    const nginx = await nginxFor(t, [hub])
    const probe = await openStream(t, `${nginx.url}/events?topic=idle`, {}, '127.0.0.5')
    assert.equal(probe.status, 200)
    const ended = await probe.waitForEnd(3 * READ_TIMEOUT_MS + 500).catch(() => undefined)
    assert.equal(ended, undefined, `the stream ended: ${JSON.stringify(ended)}`)
    assert.ok(probe.comments.length >= 6, `only ${probe.comments.length} comments arrived`)
    // Still live, not only open: an event gets through.
    assert.notEqual(await deliveryMs(probe, hub.url, 'idle', 'still-here', 5_000), undefined)
  })

  test('negative control: without heartbeats nginx cuts an idle stream at its read timeout', async (t) => {
    const nginx = await nginxFor(t, [silent])
    const probe = await openStream(t, `${nginx.url}/events?topic=idle`)
    assert.equal(probe.status, 200)
    const ended = await probe.waitForEnd(3 * READ_TIMEOUT_MS)
    const silence = ended.at - probe.lastByteAt()
    assert.ok(
      silence >= READ_TIMEOUT_MS * 0.8 && silence <= READ_TIMEOUT_MS * 2,
      `cut after ${silence} ms of silence`,
    )
  })

  test('a stream resumes through nginx on another hub with Last-Event-ID (cluster mode on Redis)', async (t) => {
    const nginx = await nginxFor(t, [nodeA, nodeB])
    // The first stream stays open, so least_conn sends the reconnect to the other hub.
    const first = await openStream(t, `${nginx.url}/events?topic=orders`)
    await first.waitFor(() => first.firstByteAt >= 0, 5_000, 'the first bytes')
    await publish(nginx.url, 'orders', 'one')
    const one = await first.waitForEvent((e) => e.data === 'one', 5_000)
    await publish(nginx.url, 'orders', 'two')
    await publish(nginx.url, 'orders', 'three')
    await first.waitForEvent((e) => e.data === 'three', 5_000)

    const resumed = await openStream(t, `${nginx.url}/events?topic=orders`, {
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

  test('per-IP limits see the real client address through nginx, and a forged X-Forwarded-For is ignored', async (t) => {
    const nginx = await nginxFor(t, [hub])
    const url = `${nginx.url}/events?topic=ip`
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

  test('negative control: a hub without --trust-proxy sees every client as nginx and limits them together', async (t) => {
    const nginx = await nginxFor(t, [untrusting])
    const url = `${nginx.url}/events?topic=ip`
    const two = await openStream(t, url, {}, '127.0.0.2')
    const three = await openStream(t, url, {}, '127.0.0.3')
    assert.equal(two.status, 200)
    assert.equal(three.status, 429)
  })
})
