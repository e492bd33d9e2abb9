/**
 * The shipped deploy/haproxy.cfg under the shared proxy suite (proxy-suite.ts); READ_TIMEOUT is its
 * `timeout server` / `timeout client`. Plus HAProxy's own negative control.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startHaproxy } from '../helpers/proxies.ts'
import { addedDelay, DELIVERY_BOUND_MS, describeProxy, READ_TIMEOUT } from './proxy-suite.ts'

describeProxy(
  'HAProxy with deploy/haproxy.cfg',
  {
    name: 'HAProxy',
    start: (upstreams, edits) => startHaproxy({ upstreams, vars: { READ_TIMEOUT }, edits }),
    readTimeout: true,
  },
  (env) => {
    // HAProxy does not buffer, but it asks the kernel to coalesce small writes (MSG_MORE): an event then
    // waits for the client's delayed ACK. The shipped `option http-no-delay` is what keeps it prompt.
    test('negative control: without option http-no-delay every event is held about 200 ms', async (t) => {
      const haproxy = await env.proxyFor(t, [env.hub], [['    option http-no-delay\n', '']])
      const { median, added } = await addedDelay(t, haproxy, env.hub, 'held', '127.0.0.6', '127.0.0.16')
      assert.ok(
        median >= DELIVERY_BOUND_MS,
        `HAProxy added only ${added.join(', ')} ms: events not held back`,
      )
    })
  },
)
