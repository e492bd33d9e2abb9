/**
 * Chromium's NATIVE EventSource (not our client) against a real hub: a page on another loopback
 * origin, allowed by the hub's `--cors-origin`, subscribes; the hub ends the stream (max lifetime);
 * the browser reconnects by itself with `Last-Event-ID`, and the events published while it was away
 * are replayed, in order, without duplicates.
 */
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { type App, createApp } from '../../packages/lifeline-hub/src/app/app.ts'
import type { CloseReason, ConnectionInfo } from '../../packages/lifeline-sse/src/server/types.ts'
import { launchChromium } from '../helpers/chromium.ts'

const TOPIC = 'native'
// Generous: Chromium on a busy 2-core machine can take many seconds to start a page.
const WAIT_MS = 45_000
/** Streams end after ~2.5 s (+-10%): the hub "drops" the browser's stream on its own. */
const MAX_LIFETIME_MS = 2_500
/** The `retry:` the hub sends (+-20%): the gap in which the test publishes. */
const RETRY_MS = 1_500

// The page: native EventSource only, everything it sees recorded on `window` for the test to read.
const PAGE = `<!doctype html><meta charset="utf-8"><title>native EventSource</title>
<script>
  const params = new URLSearchParams(location.search)
  window.received = []
  window.opens = 0
  window.errors = 0
  const source = new EventSource(params.get('hub') + '/events?topic=' + encodeURIComponent(params.get('topic')))
  source.onopen = () => { window.opens++ }
  source.onerror = () => { window.errors++ }
  source.onmessage = (e) => { window.received.push({ data: e.data, lastEventId: e.lastEventId, origin: e.origin }) }
</script>`

interface Seen {
  data: string
  lastEventId: string
  origin: string
}

let pageServer: Server
let pageOrigin: string
let app: App
let hub: string
let browser: Browser

before(async () => {
  pageServer = createServer((req, res) => {
    if (req.url?.startsWith('/native.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end(PAGE)
      return
    }
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve))
  pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`
  app = await createApp({
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    corsOrigin: [pageOrigin],
    maxLifetime: MAX_LIFETIME_MS,
    retry: RETRY_MS,
  })
  hub = await app.listen()
  browser = await launchChromium()
})

after(async () => {
  await browser?.close()
  await app?.close()
  await new Promise<void>((resolve) => pageServer?.close(() => resolve()))
})

async function publish(data: string): Promise<string> {
  const response = await fetch(`${hub}/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ topic: TOPIC, data }),
  })
  assert.equal(response.status, 201)
  return ((await response.json()) as { id: string }).id
}

function received(page: Page): Promise<Seen[]> {
  return page.evaluate(() => (window as unknown as { received: Seen[] }).received)
}

async function waitForCount(page: Page, count: number): Promise<void> {
  await page.waitForFunction(
    (n) => (window as unknown as { received: unknown[] }).received.length >= n,
    count,
    {
      timeout: WAIT_MS,
    },
  )
}

test('native EventSource on a CORS-allowed page reconnects with Last-Event-ID and gets the missed events replayed', async () => {
  const page = await browser.newPage()
  // Every stream request the browser makes, with the Last-Event-ID it sent.
  const streamRequests: Array<Promise<string | undefined>> = []
  page.on('request', (request) => {
    if (!request.url().startsWith(`${hub}/events`)) return
    streamRequests.push(request.allHeaders().then((headers) => headers['last-event-id']))
  })
  // The hub ending the browser's first stream.
  const dropped = new Promise<{ info: ConnectionInfo; reason: CloseReason }>((resolve) => {
    const off = app.hub.on('close', (info, reason) => {
      if (!info.topics.includes(TOPIC)) return
      off()
      resolve({ info, reason })
    })
  })

  await page.goto(`${pageOrigin}/native.html?hub=${encodeURIComponent(hub)}&topic=${TOPIC}`)
  await page.waitForFunction(() => (window as unknown as { opens: number }).opens >= 1, null, {
    timeout: WAIT_MS,
  })

  // Live: three events reach the page, each with the hub's id as lastEventId and the hub's origin.
  const liveIds = [await publish('one'), await publish('two'), await publish('three')]
  await waitForCount(page, 3)
  const live = await received(page)
  assert.deepEqual(
    live.map((e) => e.data),
    ['one', 'two', 'three'],
  )
  assert.deepEqual(
    live.map((e) => e.lastEventId),
    liveIds,
  )
  assert.equal(live[0]?.origin, hub)

  // The hub ends the stream (max lifetime, with a retry hint); while the browser waits to reconnect,
  // three more events are published.
  const { reason } = await dropped
  assert.equal(reason, 'max_lifetime')
  const replayedBefore = app.hub.stats().replayed
  const missedIds = [await publish('four'), await publish('five'), await publish('six')]

  await waitForCount(page, 6)
  const all = await received(page)
  assert.deepEqual(
    all.map((e) => e.data),
    ['one', 'two', 'three', 'four', 'five', 'six'],
  )
  assert.deepEqual(
    all.map((e) => e.lastEventId),
    [...liveIds, ...missedIds],
  )
  assert.equal(new Set(all.map((e) => e.lastEventId)).size, all.length, 'no event twice')

  // The browser resumed by itself: its second request carried the last id it had seen.
  const sent = await Promise.all(streamRequests)
  assert.ok(sent.length >= 2, `stream requests: ${sent.length}`)
  assert.equal(sent[0], undefined)
  assert.equal(sent[1], liveIds[2])
  // And the hub served the missed events from history, not live.
  assert.ok(app.hub.stats().replayed - replayedBefore >= 3, 'the three missed events were replayed')
  assert.ok((await page.evaluate(() => (window as unknown as { errors: number }).errors)) >= 1)
  await page.close()
})
