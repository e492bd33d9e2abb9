/**
 * The client bundled with esbuild and run in real Chromium (playwright-core) against a local server:
 * it receives events, reconnects after the server drops the connection, sends Last-Event-ID, a page
 * coming back `online` or visible skips a long reconnect wait, and a cross-origin stream with
 * credentials works through CORS.
 */
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { bundleForBrowser, launchChromium } from '../helpers/chromium.ts'

const PAGE = '<!doctype html><meta charset="utf-8"><title>client</title><script src="/client.js"></script>'

interface Seen {
  path: string
  lastEventId: string | undefined
}

/** Generous: Chromium on a busy 2-core machine can take many seconds to start a page or a stream. */
const WAIT_MS = 45_000

test('the bundled client in Chromium: events, reconnect after a drop, Last-Event-ID, online and visible wake, cross-origin', async (t) => {
  const script = await bundleForBrowser('packages/lifeline-sse/src/client/index.ts', {
    globalName: 'Lifeline',
  })
  const requests: Seen[] = []
  const open = new Set<ServerResponse>()
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/'
    if (path === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE)
    if (path === '/client.js')
      return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(script)
    const header = req.headers['last-event-id']
    requests.push({ path, lastEventId: typeof header === 'string' ? header : undefined })
    const count = requests.filter((r) => r.path === path).length
    if ((path === '/busy' || path === '/busy-hidden') && count === 1) {
      // Overloaded: retry in ten minutes. Only the page's `online` event can make it sooner.
      return void res.writeHead(503, { 'retry-after': '600' }).end()
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    open.add(res)
    res.on('close', () => open.delete(res))
    if (path === '/events' && count === 1) {
      res.write('id: 1\ndata: one\n\nid: 2\ndata: two\n\n', () => {
        // A drop, not a clean end: the socket dies under the stream.
        setTimeout(() => res.socket?.destroy(), 50)
      })
      return
    }
    res.write(`data: ${path} ${count}\n\n`)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(async () => {
    for (const res of open) res.destroy()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const browser = await launchChromium()
  t.after(() => browser.close())
  const page = await browser.newPage()
  await page.goto(`${origin}/`)

  await page.evaluate(() => {
    const w = window as unknown as {
      Lifeline: typeof import('../../packages/lifeline-sse/src/client/index.ts')
      got: Array<[string, string, string]>
      states: string[]
      source: InstanceType<typeof import('../../packages/lifeline-sse/src/client/index.ts').EventSource>
    }
    w.got = []
    w.states = []
    w.source = new w.Lifeline.EventSource('/events', { retry: { initialDelay: 50 } })
    w.source.addEventListener('statechange', (e) => w.states.push(e.state))
    w.source.onmessage = (e) => w.got.push([e.data, e.lastEventId, e.origin])
  })
  await page.waitForFunction(() => (window as unknown as { got: unknown[] }).got.length >= 3, null, {
    timeout: WAIT_MS,
  })
  const result = await page.evaluate(() => {
    const w = window as unknown as { got: unknown[]; states: string[]; source: { close(): void } }
    w.source.close()
    return { got: w.got, states: w.states }
  })
  assert.deepEqual(result.got, [
    ['one', '1', origin],
    ['two', '2', origin],
    ['/events 2', '2', origin],
  ])
  assert.deepEqual(result.states, ['open', 'reconnecting', 'connecting', 'open', 'closed'])
  const events = requests.filter((r) => r.path === '/events')
  assert.deepEqual(
    events.map((r) => r.lastEventId),
    [undefined, '2'],
  )

  // A pending reconnect (Retry-After: 600 s) is skipped when the page comes back online.
  await page.evaluate(() => {
    const w = window as unknown as {
      Lifeline: typeof import('../../packages/lifeline-sse/src/client/index.ts')
      busy: string[]
      waiting: number
    }
    w.busy = []
    w.waiting = 0
    const source = new w.Lifeline.EventSource('/busy', { retry: { initialDelay: 50 } })
    source.addEventListener('statechange', (e) => {
      if (e.state === 'reconnecting') {
        w.waiting = e.delay
        setTimeout(() => window.dispatchEvent(new Event('online')), 10)
      }
    })
    source.onmessage = (e) => {
      w.busy.push(e.data)
      source.close()
    }
  })
  await page.waitForFunction(() => (window as unknown as { busy: unknown[] }).busy.length >= 1, null, {
    timeout: WAIT_MS,
  })
  const busy = await page.evaluate(() => {
    const w = window as unknown as { busy: string[]; waiting: number }
    return { busy: w.busy, waiting: w.waiting }
  })
  assert.deepEqual(busy.busy, ['/busy 2'])
  assert.equal(busy.waiting, 600_000)

  // The same wait is skipped when the page becomes visible after being hidden longer than
  // heartbeatTimeout (its stream would likely have been killed meanwhile).
  await page.evaluate(async () => {
    const w = window as unknown as {
      Lifeline: typeof import('../../packages/lifeline-sse/src/client/index.ts')
      hidden: string[]
      visibility: DocumentVisibilityState
    }
    w.hidden = []
    w.visibility = 'visible'
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => w.visibility })
    const source = new w.Lifeline.EventSource('/busy-hidden', { heartbeatTimeout: 200 })
    source.onmessage = (e) => {
      w.hidden.push(e.data)
      source.close()
    }
    await new Promise<void>((resolve) => {
      source.addEventListener('statechange', (e) => {
        if (e.state === 'reconnecting') resolve()
      })
    })
    w.visibility = 'hidden'
    document.dispatchEvent(new Event('visibilitychange'))
    await new Promise((resolve) => setTimeout(resolve, 300)) // hidden longer than heartbeatTimeout
    w.visibility = 'visible'
    document.dispatchEvent(new Event('visibilitychange'))
  })
  await page.waitForFunction(() => (window as unknown as { hidden: unknown[] }).hidden.length >= 1, null, {
    timeout: WAIT_MS,
  })
  assert.deepEqual(await page.evaluate(() => (window as unknown as { hidden: string[] }).hidden), [
    '/busy-hidden 2',
  ])

  // Cross-origin, with credentials and a custom header: fetch preflights (a native EventSource would
  // not), so the server must allow Last-Event-ID and Cache-Control, as the hub's CORS does.
  const preflights: string[] = []
  const crossRequests: Array<{ lastEventId: string | undefined; authorization: string | undefined }> = []
  const cross = createServer((req, res) => {
    const cors = {
      'access-control-allow-origin': origin,
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'Retry-After',
    }
    if (req.method === 'OPTIONS') {
      preflights.push(String(req.headers['access-control-request-headers']))
      return void res
        .writeHead(204, {
          ...cors,
          'access-control-allow-methods': 'GET',
          'access-control-allow-headers': 'Authorization, Last-Event-ID, Cache-Control',
        })
        .end()
    }
    const header = req.headers['last-event-id']
    crossRequests.push({
      lastEventId: typeof header === 'string' ? header : undefined,
      authorization: req.headers.authorization,
    })
    res.writeHead(200, { ...cors, 'content-type': 'text/event-stream' })
    if (crossRequests.length === 1) res.end('id: c1\ndata: cross\n\n')
    else res.write('data: again\n\n')
  })
  await new Promise<void>((resolve) => cross.listen(0, '127.0.0.1', resolve))
  t.after(async () => {
    cross.closeAllConnections()
    await new Promise<void>((resolve) => cross.close(() => resolve()))
  })
  const crossOrigin = `http://127.0.0.1:${(cross.address() as AddressInfo).port}`
  await page.evaluate((url) => {
    const w = window as unknown as {
      Lifeline: typeof import('../../packages/lifeline-sse/src/client/index.ts')
      cross: string[][]
    }
    w.cross = []
    const source = new w.Lifeline.EventSource(url, {
      withCredentials: true,
      headers: { authorization: 'Bearer t' },
      retry: { initialDelay: 20 },
    })
    source.onmessage = (e) => {
      w.cross.push([e.data, e.lastEventId, e.origin])
      if (w.cross.length === 2) source.close()
    }
  }, `${crossOrigin}/x`)
  await page.waitForFunction(() => (window as unknown as { cross: unknown[] }).cross.length >= 2, null, {
    timeout: WAIT_MS,
  })
  assert.deepEqual(await page.evaluate(() => (window as unknown as { cross: string[][] }).cross), [
    ['cross', 'c1', crossOrigin],
    ['again', 'c1', crossOrigin],
  ])
  assert.deepEqual(crossRequests, [
    { lastEventId: undefined, authorization: 'Bearer t' },
    { lastEventId: 'c1', authorization: 'Bearer t' },
  ])
  assert.ok(
    preflights.some((headers) => headers.includes('last-event-id')),
    `a preflight asked for Last-Event-ID: ${preflights}`,
  )
})
