/**
 * The dashboard's stats stream behind a trusted proxy: the real `lifeline serve` hands the dashboard
 * its `--trust-proxy` resolver, so the stream is listed (and limited per IP) under the forwarded client
 * address, not the proxy's.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { http, openStream, type ServeProcess, startServe, waitForMetric } from './serve-process.ts'

describe('dashboard stats stream behind a trusted proxy', () => {
  let hub: ServeProcess
  before(async () => {
    hub = await startServe(['--trust-proxy', 'loopback', '--max-connections-per-ip', '1'])
  })
  after(async () => {
    await hub?.stop('SIGKILL')
  })

  test('the stats stream is listed under the forwarded address and counts for its per-IP limit', async () => {
    const s = await openStream(hub.url, '/dashboard/stats', { 'x-forwarded-for': '203.0.113.5' })
    try {
      const list = (await http(`${hub.url}/api/connections`)).json() as {
        connections: { remoteAddress: string; topics: string[] }[]
      }
      const stats = list.connections.filter((c) => c.topics.includes('lifeline:dashboard'))
      assert.deepEqual(
        stats.map((c) => c.remoteAddress),
        ['203.0.113.5'],
      )
      // The forwarded address holds its one stream: a second one from it is refused...
      const again = await http(`${hub.url}/dashboard/stats`, {
        headers: { accept: 'text/event-stream', 'x-forwarded-for': '203.0.113.5' },
      })
      assert.equal(again.status, 429)
      assert.equal(again.json()['error'], 'max_connections_per_ip')
      // ...while another client behind the same proxy is not.
      const other = await openStream(hub.url, '/dashboard/stats', { 'x-forwarded-for': '203.0.113.6' })
      other.close()
    } finally {
      s.close()
    }
    await waitForMetric(hub.url, 'lifeline_connections', 0)
  })
})
