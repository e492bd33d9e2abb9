/**
 * The dashboard's HTTP side over real loopback sockets (no browser): the page shell and its assets,
 * the stats stream (a hub stream on the reserved topic, frames without ids, one timer only while
 * watched), the paged connection API, and admin protection when auth is on.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type JWTPayload, SignJWT } from 'jose'
import { type App, createApp } from '../../packages/lifeline-hub/src/app/app.ts'
import type { ConnectionPage, StatsFrame } from '../../packages/lifeline-hub/src/dashboard/index.ts'
import { createDashboard, loadAssets, STATS_TOPIC } from '../../packages/lifeline-hub/src/dashboard/index.ts'
import { createHub } from '../../packages/lifeline-sse/src/server/index.ts'
import { buildDashboard } from '../../scripts/build-dashboard.ts'
import { openRaw, type RawStream } from '../server/sse-client.ts'

const WAIT_MS = 15_000
const SECRET = 'dashboard-test-secret-at-least-32-bytes-long'

function token(claim: Record<string, unknown>): Promise<string> {
  return new SignJWT({ lifeline: claim } as JWTPayload)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(SECRET))
}

async function until(what: string, predicate: () => boolean, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('dashboard HTTP (auth off)', () => {
  let app: App
  let base: string
  const streams: RawStream[] = []

  before(async () => {
    app = await createApp({ port: 0, host: '127.0.0.1', logLevel: 'silent' })
    base = await app.listen()
  })
  after(async () => {
    for (const s of streams) s.close()
    await app?.close()
  })

  test('GET / serves the page with a strict CSP, and its hashed assets are cacheable and gzipped', async () => {
    const page = await fetch(`${base}/`)
    assert.equal(page.status, 200)
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/)
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/)
    assert.equal(page.headers.get('x-frame-options'), 'DENY')
    const html = await page.text()
    const js = /src="(\/dashboard\/app\.js\?v=[^"]+)"/.exec(html)?.[1]
    const css = /href="(\/dashboard\/app\.css\?v=[^"]+)"/.exec(html)?.[1]
    assert.ok(js !== undefined && css !== undefined, 'the page links its script and styles')
    const script = await fetch(`${base}${js}`, { headers: { 'accept-encoding': 'gzip' } })
    assert.equal(script.status, 200)
    assert.match(script.headers.get('cache-control') ?? '', /immutable/)
    assert.equal(script.headers.get('content-encoding'), 'gzip')
    assert.ok((await script.text()).length > 1000)
    const etag = script.headers.get('etag') ?? ''
    const again = await fetch(`${base}${js}`, { headers: { 'if-none-match': etag } })
    assert.equal(again.status, 304)
    const styles = await fetch(`${base}${css}`)
    assert.match(await styles.text(), /\.uplot/, 'uPlot styles are bundled in, no CDN')
  })

  test('methods other than GET answer 405 and unknown dashboard paths fall through to 404', async () => {
    const post = await fetch(`${base}/dashboard/api/stats`, { method: 'POST' })
    assert.equal(post.status, 405)
    assert.equal(((await post.json()) as { error: string }).error, 'method_not_allowed')
    const missing = await fetch(`${base}/dashboard/nothing-here`)
    assert.equal(missing.status, 404)
  })

  test('the stats stream is a hub stream on the reserved topic and sends one id-less frame per second', async () => {
    assert.equal(app.hub.size, 0)
    const stats = await openRaw(`${base}/dashboard/stats`)
    streams.push(stats)
    assert.equal(stats.status, 200)
    assert.match(stats.headers.get('content-type')?.[0] ?? '', /^text\/event-stream/)
    const listed = (await (await fetch(`${base}/api/connections`)).json()) as {
      connections: Array<{ topics: string[] }>
    }
    assert.deepEqual(
      listed.connections.map((c) => c.topics),
      [[STATS_TOPIC]],
    )
    await stats.waitFor(
      'two stats frames',
      () => stats.events.filter((e) => e.type === 'stats').length >= 2,
      WAIT_MS,
    )
    const frames = stats.events.filter((e) => e.type === 'stats')
    assert.ok(
      frames.every((e) => e.id === ''),
      'frames carry no id: they are not history',
    )
    const frame = JSON.parse(frames[1]?.data ?? '{}') as StatsFrame
    assert.equal(frame.connections, 1)
    assert.equal(frame.watchers, 1)
    assert.ok(frame.intervalSeconds > 0.5 && frame.intervalSeconds < 5, `interval ${frame.intervalSeconds}`)
    assert.deepEqual(frame.topics, [{ topic: STATS_TOPIC, subscribers: 1 }])
    assert.equal(app.hub.stats().published, 0, 'frames are not published events')
    assert.equal(app.hub.history.size(), 0, 'frames do not enter history')
  })

  test('rates are computed on the server from the hub counters', async () => {
    const stats = streams[0] as RawStream
    const subscriber = await openRaw(`${base}/events?topic=rates`)
    streams.push(subscriber)
    const seen = stats.events.length
    for (let i = 0; i < 30; i++) await app.hub.publish('rates', { data: String(i) })
    await subscriber.waitFor('30 events', () => subscriber.events.length >= 30)
    let total = 0
    await stats.waitFor(
      'frames covering the 30 publishes',
      () => {
        total = stats.events
          .slice(seen)
          .filter((e) => e.type === 'stats')
          .map((e) => JSON.parse(e.data) as StatsFrame)
          .reduce((sum, f) => sum + f.rates.published * f.intervalSeconds, 0)
        return total >= 29.5
      },
      WAIT_MS,
    )
    assert.ok(Math.abs(total - 30) < 0.5, `published/s x seconds adds up to ${total}`)
  })

  test('the connection API pages, sorts and filters by topic', async () => {
    for (let i = 0; i < 7; i++) streams.push(await openRaw(`${base}/events?topic=paging`))
    const get = async (query: string): Promise<ConnectionPage> => {
      const response = await fetch(`${base}/dashboard/api/connections?${query}`)
      assert.equal(response.status, 200)
      return (await response.json()) as ConnectionPage
    }
    const first = await get('topic=paging&limit=3&sort=id&order=asc')
    assert.equal(first.total, 7)
    assert.equal(first.rows.length, 3)
    const last = await get('topic=paging&limit=3&offset=6&sort=id&order=asc')
    assert.equal(last.rows.length, 1)
    const all = await get('topic=paging&limit=10&sort=id&order=asc')
    assert.deepEqual(
      [
        ...first.rows,
        ...(await get('topic=paging&limit=3&offset=3&sort=id&order=asc')).rows,
        ...last.rows,
      ].map((r) => r.id),
      all.rows.map((r) => r.id),
    )
    const ids = all.rows.map((r) => r.id)
    assert.deepEqual(ids, [...ids].sort())
    assert.ok(all.rows.every((r) => r.topics.includes('paging')))
    const everyone = await get('')
    assert.equal(everyone.total, app.hub.size)
    for (const bad of ['sort=nope', 'order=up', 'limit=0', 'limit=501', 'offset=-1', 'offset=x']) {
      const response = await fetch(`${base}/dashboard/api/connections?${bad}`)
      assert.equal(response.status, 400, bad)
      assert.equal(((await response.json()) as { error: string }).error, 'bad_request')
    }
  })

  test('frames of the watched period are kept for the next page that opens', async () => {
    const stats = streams.shift() as RawStream
    stats.close()
    await until('the stats stream to leave the hub', () =>
      app.hub.connections().every((c) => !c.topics.includes(STATS_TOPIC)),
    )
    const snapshot = (await (await fetch(`${base}/dashboard/api/stats`)).json()) as {
      now: StatsFrame
      recent: StatsFrame[]
    }
    assert.ok(snapshot.recent.length >= 2)
    assert.equal(snapshot.now.watchers, 0)
  })
})

test("the stats timer runs only while a dashboard watches, and streams take the hub's client address", async (t) => {
  const hub = createHub()
  const dashboard = createDashboard({
    hub,
    requireAdmin: () => ({}),
    logger: { info() {}, warn() {} },
    clientAddress: () => '203.0.113.9',
  })
  const server = createServer((req, res) => {
    void dashboard.handle(req, res, new URL(req.url ?? '/', 'http://localhost'))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(async () => {
    await hub.close()
    server.close()
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dashboard/stats`
  assert.equal(dashboard.sampler.running, false, 'no timer before anyone watches')
  const first = await openRaw(url)
  const second = await openRaw(url)
  assert.equal(dashboard.sampler.running, true)
  assert.deepEqual(
    hub.connections().map((c) => c.remoteAddress),
    ['203.0.113.9', '203.0.113.9'],
    'the address comes from the hub (trust-proxy), not the socket',
  )
  first.close()
  await until('the first watcher to leave', () => hub.size === 1)
  assert.equal(dashboard.sampler.running, true, 'one watcher left: still sampling')
  second.close()
  await until('the timer to stop', () => !dashboard.sampler.running)
  assert.equal(hub.size, 0)
})

test('scripts/build-dashboard.ts prebuilds the page, and the hub serves prebuilt files as they are', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeline-dashboard-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const sizes = await buildDashboard(dir)
  assert.ok(sizes.js > 1000 && sizes.css > 100)
  const assets = await loadAssets(`${dir}/`)
  assert.equal(assets.source, 'prebuilt')
  assert.equal(assets.js.body.toString(), await readFile(join(dir, 'app.js'), 'utf8'))
  assert.ok(assets.html.body.toString().includes(assets.jsPath))
})

describe('dashboard HTTP (auth on)', () => {
  let app: App
  let base: string

  before(async () => {
    app = await createApp({ port: 0, host: '127.0.0.1', logLevel: 'silent', jwtSecret: SECRET })
    base = await app.listen()
  })
  after(async () => {
    await app?.close()
  })

  test('the page shell is public but every data route needs an admin token', async () => {
    assert.equal((await fetch(`${base}/`)).status, 200)
    const admin = await token({ admin: true })
    const subscriber = await token({ subscribe: ['*'], publish: ['*'] })
    for (const path of ['/dashboard/api/stats', '/dashboard/api/connections', '/dashboard/stats']) {
      const none = await fetch(`${base}${path}`)
      assert.equal(none.status, 401, `${path} without a token`)
      await none.body?.cancel()
      const notAdmin = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${subscriber}` } })
      assert.equal(notAdmin.status, 403, `${path} with a non-admin token`)
      await notAdmin.body?.cancel()
    }
    const ok = await fetch(`${base}/dashboard/api/connections`, {
      headers: { authorization: `Bearer ${admin}` },
    })
    assert.equal(ok.status, 200)
    const stream = await openRaw(`${base}/dashboard/stats`, { headers: { authorization: `Bearer ${admin}` } })
    try {
      assert.equal(stream.status, 200)
      await stream.waitFor('a stats frame', () => stream.events.some((e) => e.type === 'stats'))
    } finally {
      stream.close()
    }
  })
})
