/**
 * One behaviour suite run over every shipped proxy config (deploy/nginx.conf, haproxy.cfg, Caddyfile),
 * each rendered by deploy/render.sh and run by Debian's binary on loopback in front of real
 * `lifeline serve` processes. Each proxy's test file calls `describeProxy` with its launcher and adds
 * its own tests (negative controls, config checks) through `ownTests`.
 *
 * Hubs start once per file (in parallel); each test starts its own proxy and streams, and uses its own
 * client address (127.0.0.x) so per-IP counts of one test never touch another.
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
  type RunningProxy,
  startHub,
  streamsOn,
} from '../helpers/proxies.ts'
import { type RedisServer, startRedisServer } from '../helpers/redis-server.ts'

/** Small timeouts keep the suites short: the proxy's read timeout and a heartbeat well under it. */
export const READ_TIMEOUT = '2s'
export const READ_TIMEOUT_MS = 2_000
const HEARTBEAT = '500ms'
/** The bound the issue sets for an event through the proxy, publish -> arrival. */
export const DELIVERY_BOUND_MS = 100

export type T = { after: (fn: () => Promise<void> | void) => void }
export type Edits = Array<[string, string]>

export interface ProxyCase {
  /** As it reads in test names: `nginx`, `HAProxy`, `Caddy`. */
  name: string
  /** Starts the proxy with its shipped config in front of `upstreams` (`host:port`), `edits` applied. */
  start(upstreams: readonly string[], edits: Edits): Promise<RunningProxy>
  /**
   * Its read timeout on streams is READ_TIMEOUT: the idle tests (survival with heartbeats, cut without)
   * run. False for a proxy with no read timeout on proxied responses (Caddy).
   */
  readTimeout: boolean
  /** Hubs its own tests need besides `hub`, `silent`, `nodeA` and `nodeB`: name -> serve flags. */
  extraHubs?: Record<string, string[]>
}

export interface ProxyEnv {
  /** Heartbeats, trusts the proxy, one stream per client address. */
  readonly hub: RunningHub
  /** No heartbeats (negative controls). */
  readonly silent: RunningHub
  /** A hub of `extraHubs`. */
  extra(name: string): RunningHub
  /** Starts the proxy in front of `upstreams` for this test; closed when the test ends. */
  proxyFor(t: T, upstreams: RunningHub[], edits?: Edits): Promise<RunningProxy>
}

/**
 * Publishes 5 events and gives how long the proxy added to each over a direct stream from the same
 * hub, measured on `topic` with the given client addresses (both streams stay open for the test).
 */
export async function addedDelay(
  t: T,
  proxy: RunningProxy,
  hub: RunningHub,
  topic: string,
  proxiedAddress: string,
  directAddress: string,
): Promise<{ median: number; added: number[]; endToEnd: number[] }> {
  const probe = await openStream(t, `${proxy.url}/events?topic=${topic}`, {}, proxiedAddress)
  assert.equal(probe.status, 200)
  await probe.waitFor(() => probe.firstByteAt >= 0, 5_000, 'the first bytes')
  // Warm the publisher's connection so the measure is the stream path, not a TCP handshake.
  await publish(hub.url, 'warm-up', 'x')
  const direct = await openStream(t, `${hub.url}/events?topic=${topic}`, {}, directAddress)
  await direct.waitFor(() => direct.firstByteAt >= 0, 5_000, 'the first bytes')
  return medianAddedDelayMs(probe, direct, hub.url, topic)
}

export function describeProxy(title: string, proxy: ProxyCase, ownTests: (env: ProxyEnv) => void): void {
  const { name } = proxy
  describe(title, () => {
    let redis: RedisServer
    const hubs = new Map<string, RunningHub>()
    const get = (hubName: string): RunningHub => {
      const h = hubs.get(hubName)
      if (h === undefined) throw new Error(`no hub ${hubName} was started`)
      return h
    }
    const env: ProxyEnv = {
      get hub() {
        return get('hub')
      },
      get silent() {
        return get('silent')
      },
      extra: get,
      async proxyFor(t, upstreams, edits = []) {
        const running = await proxy.start(
          upstreams.map((h) => h.address),
          edits,
        )
        t.after(() => running.close())
        return running
      },
    }

    before(async () => {
      redis = await startRedisServer()
      const cluster = [
        '--heartbeat',
        HEARTBEAT,
        '--redis',
        redis.url,
        '--redis-prefix',
        `${name.toLowerCase()}-${process.pid}`,
      ]
      const flags: Record<string, string[]> = {
        hub: ['--heartbeat', HEARTBEAT, '--trust-proxy', '127.0.0.1', '--max-connections-per-ip', '1'],
        silent: ['--heartbeat', '0', '--trust-proxy', '127.0.0.1'],
        nodeA: cluster,
        nodeB: cluster,
        ...proxy.extraHubs,
      }
      await Promise.all(
        Object.entries(flags).map(async ([hubName, args]) => {
          hubs.set(hubName, await startHub(args))
        }),
      )
    })
    after(async () => {
      await Promise.all([...hubs.values()].map((h) => h.close()))
      await redis?.stop()
    })

    test(`events leave ${name} within 100 ms of the hub writing them (median of 5)`, async (t) => {
      const running = await env.proxyFor(t, [env.hub])
      const { median, added, endToEnd } = await addedDelay(
        t,
        running,
        env.hub,
        'fast',
        '127.0.0.4',
        '127.0.0.14',
      )
      assert.ok(
        median < DELIVERY_BOUND_MS,
        `${name} added ${added.join(', ')} ms (publish -> arrival through it: ${endToEnd.join(', ')} ms)`,
      )
    })

    if (proxy.readTimeout) {
      test(`an idle stream survives 3 x ${name}'s read timeout thanks to heartbeats`, async (t) => {
        const running = await env.proxyFor(t, [env.hub])
        const probe = await openStream(t, `${running.url}/events?topic=idle`, {}, '127.0.0.5')
        assert.equal(probe.status, 200)
        const ended = await probe.waitForEnd(3 * READ_TIMEOUT_MS + 500).catch(() => undefined)
        assert.equal(ended, undefined, `the stream ended: ${JSON.stringify(ended)}`)
        assert.ok(probe.comments.length >= 6, `only ${probe.comments.length} comments arrived`)
        // Still live, not only open: an event gets through.
        assert.notEqual(await deliveryMs(probe, env.hub.url, 'idle', 'still-here', 5_000), undefined)
      })

      test(`negative control: without heartbeats ${name} cuts an idle stream at its read timeout`, async (t) => {
        const running = await env.proxyFor(t, [env.silent])
        const probe = await openStream(t, `${running.url}/events?topic=idle`)
        assert.equal(probe.status, 200)
        const ended = await probe.waitForEnd(3 * READ_TIMEOUT_MS)
        const silence = ended.at - probe.lastByteAt()
        assert.ok(
          silence >= READ_TIMEOUT_MS * 0.8 && silence <= READ_TIMEOUT_MS * 2,
          `cut after ${silence} ms of silence`,
        )
      })
    }

    test(`a stream resumes through ${name} on another hub with Last-Event-ID (cluster mode on Redis)`, async (t) => {
      const nodes = [get('nodeA'), get('nodeB')]
      const running = await env.proxyFor(t, nodes)
      // The first stream stays open, so least-connections balancing sends the reconnect to the other hub.
      const first = await openStream(t, `${running.url}/events?topic=orders`)
      await first.waitFor(() => first.firstByteAt >= 0, 5_000, 'the first bytes')
      await publish(running.url, 'orders', 'one')
      const one = await first.waitForEvent((e) => e.data === 'one', 5_000)
      await publish(running.url, 'orders', 'two')
      await publish(running.url, 'orders', 'three')
      await first.waitForEvent((e) => e.data === 'three', 5_000)

      const resumed = await openStream(t, `${running.url}/events?topic=orders`, {
        'last-event-id': one.lastEventId,
      })
      await resumed.waitForEvent((e) => e.data === 'three', 5_000)
      assert.deepEqual(
        resumed.events.map((e) => e.data),
        ['two', 'three'],
        'replayed exactly what followed the id, with no reset',
      )
      const holders = await Promise.all(nodes.map((h) => streamsOn(h.url, 'orders')))
      assert.deepEqual(
        holders,
        [1, 1],
        'each hub holds one of the two streams: the resume ran on the other hub',
      )
    })

    test(`per-IP limits see the real client address through ${name}, and a forged X-Forwarded-For is ignored`, async (t) => {
      const running = await env.proxyFor(t, [env.hub])
      const url = `${running.url}/events?topic=ip`
      const two = await openStream(t, url, {}, '127.0.0.2')
      const three = await openStream(t, url, { 'x-forwarded-for': '127.0.0.9' }, '127.0.0.3')
      assert.equal(two.status, 200)
      assert.equal(three.status, 200, 'a second client address gets its own allowance')
      const again = await openStream(t, url, { 'x-forwarded-for': '10.1.2.3' }, '127.0.0.2')
      assert.equal(again.status, 429, 'a forged X-Forwarded-For does not buy a new allowance')
      const addresses = (await connections(env.hub.url))
        .filter((c) => c.topics.includes('ip'))
        .map((c) => c.remoteAddress)
        .sort()
      assert.deepEqual(addresses, ['127.0.0.2', '127.0.0.3'])
    })

    ownTests(env)
  })
}
