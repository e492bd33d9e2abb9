/**
 * The shipped deploy/nginx.conf under the shared proxy suite (proxy-suite.ts), plus nginx's own
 * negative controls: each flips the one setting (or hub flag) a property depends on and shows the
 * failure, so the test proves the setting matters.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { deliveryMs, openStream, publish, startNginx } from '../helpers/proxies.ts'
import { describeProxy, READ_TIMEOUT } from './proxy-suite.ts'

describeProxy(
  'nginx with deploy/nginx.conf',
  {
    name: 'nginx',
    start: (upstreams, edits) => startNginx({ upstreams, vars: { READ_TIMEOUT }, edits }),
    readTimeout: true,
    /** Does not trust nginx (negative control of the per-IP limit). */
    extraHubs: { untrusting: ['--heartbeat', '500ms', '--max-connections-per-ip', '1'] },
  },
  (env) => {
    // nginx forwards what it has read even with buffering on, until something else holds the bytes: a
    // site-wide `gzip on` with text/event-stream in gzip_types is the usual one. The shipped file keeps
    // streams unbuffered and uncompressed; flipping both (and ignoring the hub's X-Accel-Buffering: no)
    // holds the event until the read timeout.
    test('negative control: with proxy_buffering on and gzip on the event is held back', async (t) => {
      const nginx = await env.proxyFor(
        t,
        [env.silent],
        [
          ['proxy_buffering off;', 'proxy_buffering on; proxy_ignore_headers X-Accel-Buffering;'],
          ['gzip off;', 'gzip on; gzip_types text/event-stream;'],
        ],
      )
      const probe = await openStream(t, `${nginx.url}/events?topic=slow`)
      assert.equal(probe.status, 200)
      await publish(env.silent.url, 'warm-up', 'x')
      const ms = await deliveryMs(probe, env.silent.url, 'slow', 'held', 1_500)
      assert.equal(ms, undefined, `the event arrived in ${ms} ms: buffering did not hold it back`)
    })

    test('negative control: a hub without --trust-proxy sees every client as nginx and limits them together', async (t) => {
      const nginx = await env.proxyFor(t, [env.extra('untrusting')])
      const url = `${nginx.url}/events?topic=ip`
      const two = await openStream(t, url, {}, '127.0.0.2')
      const three = await openStream(t, url, {}, '127.0.0.3')
      assert.equal(two.status, 200)
      assert.equal(three.status, 429)
    })
  },
)
