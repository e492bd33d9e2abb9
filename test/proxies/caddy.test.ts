/**
 * The shipped deploy/Caddyfile, rendered by deploy/render.sh and run by Debian's Caddy on loopback in
 * front of real `lifeline serve` processes. Caddy flushes text/event-stream by itself and has no read
 * timeout on proxied responses, so its properties are delivery, balancing with resume, and addresses.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  connections,
  medianAddedDelayMs,
  openStream,
  publish,
  type RunningHub,
  startCaddy,
  startHub,
  streamsOn,
} from '../helpers/proxies.ts'
import { type RedisServer, startRedisServer } from '../helpers/redis-server.ts'

const HEARTBEAT = '500ms'
const DELIVERY_BOUND_MS = 100

type T = { after: (fn: () => Promise<void> | void) => void }

describe('Caddy with deploy/Caddyfile', () => {
  let redis: RedisServer
  let hub: RunningHub
  let nodeA: RunningHub
  let nodeB: RunningHub

  before(async () => {
    redis = await startRedisServer()
    const cluster = ['--heartbeat', HEARTBEAT, '--redis', redis.url, '--redis-prefix', `caddy-${process.pid}`]
    ;[hub, nodeA, nodeB] = await Promise.all([
      startHub(['--heartbeat', HEARTBEAT, '--trust-proxy', '127.0.0.1', '--max-connections-per-ip', '1']),
      startHub(cluster),
      startHub(cluster),
    ])
  })
  after(async () => {
    await Promise.all([hub, nodeA, nodeB].map((h) => h?.close()))
    await redis?.stop()
  })

  async function caddyFor(t: T, upstreams: RunningHub[]) {
    const caddy = await startCaddy({ upstreams: upstreams.map((h) => h.address) })
    t.after(() => caddy.close())
    return caddy
  }

  test('events leave Caddy within 100 ms of the hub writing them (median of 5)', async (t) => {
    const caddy = await caddyFor(t, [hub])
    const probe = await openStream(t, `${caddy.url}/events?topic=fast`, {}, '127.0.0.4')
    assert.equal(probe.status, 200)
    await probe.waitFor(() => probe.firstByteAt >= 0, 5_000, 'the first bytes')
    await publish(hub.url, 'warm-up', 'x')
    const direct = await openStream(t, `${hub.url}/events?topic=fast`, {}, '127.0.0.14')
    await direct.waitFor(() => direct.firstByteAt >= 0, 5_000, 'the first bytes')
    const { median, added, endToEnd } = await medianAddedDelayMs(probe, direct, hub.url, 'fast')
    assert.ok(
      median < DELIVERY_BOUND_MS,
      `Caddy added ${added.join(', ')} ms (publish -> arrival through it: ${endToEnd.join(', ')} ms)`,
    )
  })

  test('a stream resumes through Caddy on another hub with Last-Event-ID (cluster mode on Redis)', async (t) => {
    const caddy = await caddyFor(t, [nodeA, nodeB])
    const first = await openStream(t, `${caddy.url}/events?topic=orders`)
    await first.waitFor(() => first.firstByteAt >= 0, 5_000, 'the first bytes')
    await publish(caddy.url, 'orders', 'one')
    const one = await first.waitForEvent((e) => e.data === 'one', 5_000)
    await publish(caddy.url, 'orders', 'two')
    await publish(caddy.url, 'orders', 'three')
    await first.waitForEvent((e) => e.data === 'three', 5_000)

    const resumed = await openStream(t, `${caddy.url}/events?topic=orders`, {
      'last-event-id': one.lastEventId,
    })
    await resumed.waitForEvent((e) => e.data === 'three', 5_000)
    assert.deepEqual(
      resumed.events.map((e) => e.data),
      ['two', 'three'],
    )
    const holders = await Promise.all([nodeA, nodeB].map((h) => streamsOn(h.url, 'orders')))
    assert.deepEqual(
      holders,
      [1, 1],
      'each hub holds one of the two streams: the resume ran on the other hub',
    )
  })

  test('per-IP limits see the real client address through Caddy, and a forged X-Forwarded-For is ignored', async (t) => {
    const caddy = await caddyFor(t, [hub])
    const url = `${caddy.url}/events?topic=ip`
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
