/**
 * `--trust-proxy-header`: behind a proxy that appends `X-Forwarded-For` and passes
 * `Forwarded` through, a client's own `Forwarded` must not give it a fresh address per request. The
 * hub reads exactly the one header the flag names, over real TCP from a loopback "proxy".
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { http, openStream, type ServeProcess, type SseStream, startServe } from './serve-process.ts'

describe('--trust-proxy-header x-forwarded-for (the default)', () => {
  let hub: ServeProcess
  const streams: SseStream[] = []
  before(async () => {
    hub = await startServe(['--trust-proxy', 'loopback', '--max-connections-per-ip', '3'])
  })
  after(async () => {
    for (const s of streams) s.close()
    await hub?.stop('SIGKILL')
  })

  test('a client-sent Forwarded does not override the proxy-appended X-Forwarded-For', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) {
      const headers = { 'x-forwarded-for': '9.9.9.9', forwarded: `for=6.6.6.${i}` }
      if (i < 3) {
        streams.push(await openStream(hub.url, '/events?topic=xff', headers))
        statuses.push(200)
        continue
      }
      const a = await http(`${hub.url}/events?topic=xff`, { headers })
      statuses.push(a.status)
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429])
  })
})

describe('--trust-proxy-header forwarded', () => {
  let hub: ServeProcess
  before(async () => {
    hub = await startServe([
      '--trust-proxy',
      'loopback',
      '--trust-proxy-header',
      'forwarded',
      '--max-connections-per-ip',
      '1',
    ])
  })
  after(async () => {
    await hub?.stop('SIGKILL')
  })

  test('only Forwarded is read: X-Forwarded-For from the client is ignored', async () => {
    const a = await openStream(hub.url, '/events?topic=fwd', {
      forwarded: 'for=203.0.113.7',
      'x-forwarded-for': '198.51.100.1',
    })
    const b = await http(`${hub.url}/events?topic=fwd`, {
      headers: { forwarded: 'for=203.0.113.7', 'x-forwarded-for': '198.51.100.2' },
    })
    assert.equal(b.status, 429, 'same Forwarded client, other X-Forwarded-For: still one address')
    const list = await http(`${hub.url}/api/connections`)
    const addresses = (list.json()['connections'] as { remoteAddress: string }[]).map((c) => c.remoteAddress)
    assert.deepEqual(addresses, ['203.0.113.7'])
    a.close()
  })
})
