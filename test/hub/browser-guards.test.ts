/**
 * What a web page may do to a hub it can reach (docs/security.md), against the real
 * `lifeline serve` process: DNS rebinding (a foreign `Host`) is refused, cross-origin writes from
 * browsers (a form post, `Sec-Fetch-Site: cross-site`) are refused while same-origin pages, allowed
 * CORS origins and non-browser clients publish; with auth on `/metrics` needs an admin token unless
 * it is served on the admin listener (`--admin-port`), which carries the operator's routes only.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { SignJWT } from 'jose'
import { http, openStream, type ServeProcess, startServe } from './serve-process.ts'

const SECRET = 'guards-secret-of-enough-length-0123456789'
const ALLOWED_ORIGIN = 'https://app.example'

function form(base: string, headers: Record<string, string>) {
  return http(`${base}/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: 'topic=guard&data=pwned',
  })
}

describe('auth off: Host allowlist and cross-origin writes', () => {
  let hub: ServeProcess
  let port: string
  before(async () => {
    hub = await startServe([
      '--cors-origin',
      ALLOWED_ORIGIN,
      '--allowed-hosts',
      'events.example,.corp.example',
    ])
    port = new URL(hub.url).port
  })
  after(async () => {
    await hub?.stop('SIGKILL')
  })

  test('a foreign Host (DNS rebinding) gets 403 host_not_allowed on every route', async () => {
    for (const path of ['/api/connections', '/metrics', '/events?topic=guard', '/', '/healthz']) {
      const a = await http(`${hub.url}${path}`, { headers: { host: `rebind.evil.example:${port}` } })
      assert.equal(a.status, 403, `${path}: ${a.body}`)
      assert.equal(a.json()['error'], 'host_not_allowed', path)
    }
    const post = await form(hub.url, { host: 'rebind.evil.example' })
    assert.equal(post.status, 403)
  })

  test('IP literals, localhost names and --allowed-hosts entries are answered', async () => {
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      'app.localhost',
      '[::1]:80',
      'events.example',
      'a.corp.example',
      'corp.example',
      'LOCALHOST.',
    ]) {
      const a = await http(`${hub.url}/api/connections`, { headers: { host } })
      assert.equal(a.status, 200, `${host}: ${a.body}`)
    }
    const near = await http(`${hub.url}/api/connections`, { headers: { host: 'events.example.evil' } })
    assert.equal(near.status, 403)
  })

  test('a cross-site form post is refused with 403 cross_origin and publishes nothing', async () => {
    const watcher = await openStream(hub.url, '/events?topic=guard')
    try {
      const bySite = await form(hub.url, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })
      assert.equal(bySite.status, 403, bySite.body)
      assert.equal(bySite.json()['error'], 'cross_origin')
      // Same site, other port (another app on the same machine) is still another origin.
      const sameSite = await form(hub.url, { origin: 'http://127.0.0.1:1', 'sec-fetch-site': 'same-site' })
      assert.equal(sameSite.status, 403)
      // An older browser: no Sec-Fetch-Site, only Origin.
      const byOrigin = await form(hub.url, { origin: 'https://evil.example' })
      assert.equal(byOrigin.status, 403)
      const nullOrigin = await form(hub.url, { origin: 'null' })
      assert.equal(nullOrigin.status, 403)
      // The one event that follows must be the first the watcher sees.
      const ok = await form(hub.url, {})
      assert.equal(ok.status, 201)
      const [first] = await watcher.waitFor(1)
      assert.equal(first?.lastEventId, ok.json()['id'])
      assert.equal(first?.data, 'pwned')
    } finally {
      watcher.close()
    }
  })

  test('same-origin pages, allowed CORS origins and non-browser clients publish', async () => {
    const cases: Record<string, string>[] = [
      {},
      { 'sec-fetch-site': 'same-origin', origin: `http://127.0.0.1:${port}` },
      { 'sec-fetch-site': 'none' },
      { origin: `http://127.0.0.1:${port}` },
      { origin: ALLOWED_ORIGIN, 'sec-fetch-site': 'cross-site' },
    ]
    for (const headers of cases) {
      const a = await form(hub.url, headers)
      assert.equal(a.status, 201, `${JSON.stringify(headers)}: ${a.body}`)
    }
  })
})

describe('auth on: /metrics needs an admin token; the admin listener serves the operator routes', () => {
  let single: ServeProcess
  let split: ServeProcess
  let adminUrl: string
  const token = (claim: Record<string, unknown>) =>
    new SignJWT({ lifeline: claim })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET))
  before(async () => {
    ;[single, split] = await Promise.all([
      startServe(['--jwt-secret', SECRET]),
      startServe(['--jwt-secret', SECRET, '--admin-port', '0']),
    ])
    const line = await split.waitForLog((l) => typeof l['adminUrl'] === 'string')
    adminUrl = line['adminUrl'] as string
  })
  after(async () => {
    await Promise.all([single?.stop('SIGKILL'), split?.stop('SIGKILL')])
  })

  test('one listener: /metrics is 401 without a token, 403 for a non-admin, 200 for an admin', async () => {
    assert.equal((await http(`${single.url}/metrics`)).status, 401)
    const user = await token({ subscribe: ['*'] })
    assert.equal(
      (await http(`${single.url}/metrics`, { headers: { authorization: `Bearer ${user}` } })).status,
      403,
    )
    const admin = await token({ admin: true })
    const ok = await http(`${single.url}/metrics`, { headers: { authorization: `Bearer ${admin}` } })
    assert.equal(ok.status, 200)
    assert.match(ok.body, /lifeline_connections /)
    // Probes carry no token: health and readiness stay public (they say up/ready, nothing more).
    assert.equal((await http(`${single.url}/healthz`)).status, 200)
    assert.equal((await http(`${single.url}/readyz`)).status, 200)
  })

  test('--admin-port: operator routes move there; streams and publish stay on the stream port', async () => {
    assert.notEqual(adminUrl, split.url)
    for (const path of ['/metrics', '/api/connections', '/dashboard/api/stats']) {
      const a = await http(`${split.url}${path}`)
      assert.equal(a.status, 404, `${path} on the stream port: ${a.body}`)
    }
    assert.equal((await http(`${split.url}/healthz`)).status, 200)
    const metrics = await http(`${adminUrl}/metrics`)
    assert.equal(metrics.status, 200, 'the admin listener serves metrics without a token')
    assert.match(metrics.body, /lifeline_connections /)
    assert.equal((await http(`${adminUrl}/healthz`)).status, 200)
    assert.equal((await http(`${adminUrl}/readyz`)).status, 200)
    // Connection data still needs an admin token there.
    assert.equal((await http(`${adminUrl}/api/connections`)).status, 401)
    const admin = await token({ admin: true })
    const list = await http(`${adminUrl}/api/connections`, { headers: { authorization: `Bearer ${admin}` } })
    assert.equal(list.status, 200)
    assert.equal((await http(`${adminUrl}/events?topic=a`)).status, 404)
    assert.equal((await http(`${adminUrl}/publish`, { method: 'POST' })).status, 404)
    const subscriber = await token({ subscribe: ['a'] })
    const s = await openStream(split.url, '/events?topic=a', { authorization: `Bearer ${subscriber}` })
    s.close()
  })
})
