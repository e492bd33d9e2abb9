/**
 * The bundled client in real Chromium: a cross-origin server that answers only
 * `Access-Control-Allow-Origin` (no allowed headers, so any preflight fails) serves the first
 * connection, and with `lastEventIdParam` the reconnect too; a `fetch` option that resolves to a body
 * the client cannot read (a Node-stream look-alike, none) gives one error event and no unhandled
 * rejection in the page; an AbortError fails the connection; `window.stop()` is reported by Chromium
 * as a plain network error, so the client reconnects (the limit docs/client.md states).
 */
import assert from 'node:assert/strict'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { bundleForBrowser, launchChromium } from '../helpers/chromium.ts'

const PAGE = '<!doctype html><meta charset="utf-8"><title>client</title><script src="/client.js"></script>'
/** Generous: Chromium on a busy 2-core machine can take many seconds to start a page or a stream. */
const WAIT_MS = 45_000

type Lifeline = typeof import('../../packages/lifeline-sse/src/client/index.ts')
interface PageState {
  Lifeline: Lifeline
  results: Record<string, unknown[]>
  rejections: string[]
}

test('Chromium: simple CORS requests, unreadable bodies, aborts', async (t) => {
  const script = await bundleForBrowser('packages/lifeline-sse/src/client/index.ts', {
    globalName: 'Lifeline',
  })
  const open = new Set<ServerResponse>()
  const page$ = createServer((req, res) => {
    if (req.url === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE)
    if (req.url === '/client.js')
      return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(script)
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    open.add(res)
    res.on('close', () => open.delete(res))
    res.write('data: same-origin\n\n')
  })
  await new Promise<void>((resolve) => page$.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(page$.address() as AddressInfo).port}`

  // The cross-origin server allows the origin and nothing else: a preflight gets no allowed headers.
  const seen: Array<{ method: string; path: string; lastEventId: string | undefined }> = []
  const counts = new Map<string, number>()
  const cross = createServer((req, res) => {
    const path = req.url ?? '/'
    const header = req.headers['last-event-id']
    seen.push({
      method: req.method ?? '',
      path,
      lastEventId: typeof header === 'string' ? header : undefined,
    })
    const cors = { 'access-control-allow-origin': origin }
    if (req.method === 'OPTIONS') return void res.writeHead(204, cors).end()
    const base = path.split('?')[0]!
    const count = (counts.get(base) ?? 0) + 1
    counts.set(base, count)
    res.writeHead(200, { ...cors, 'content-type': 'text/event-stream' })
    open.add(res)
    res.on('close', () => open.delete(res))
    // The first response of each path ends after one event: the client reconnects with its id.
    if (count === 1) res.end(`id: ${base.slice(1)}-1\ndata: first\n\n`)
    else res.write(`data: again ${path}\n\n`)
  })
  await new Promise<void>((resolve) => cross.listen(0, '127.0.0.1', resolve))
  const crossOrigin = `http://127.0.0.1:${(cross.address() as AddressInfo).port}`
  t.after(async () => {
    for (const res of open) res.destroy()
    for (const server of [page$, cross]) {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })

  const browser = await launchChromium()
  t.after(() => browser.close())
  const page = await browser.newPage()
  await page.goto(`${origin}/`)
  await page.evaluate(() => {
    const w = window as unknown as PageState
    w.results = {}
    w.rejections = []
    window.addEventListener('unhandledrejection', (event) => w.rejections.push(String(event.reason)))
  })
  const waitFor = (key: string, count: number) =>
    page.waitForFunction(
      ([k, n]) => ((window as unknown as PageState).results[k as string]?.length ?? 0) >= (n as number),
      [key, count] as const,
      { timeout: WAIT_MS },
    )
  const results = (key: string) =>
    page.evaluate((k) => (window as unknown as PageState).results[k], key) as Promise<unknown[]>

  // 1. lastEventIdParam: the first request and the reconnect are both simple requests.
  await page.evaluate((url) => {
    const w = window as unknown as PageState
    const got: unknown[] = (w.results.query = [])
    const source = new w.Lifeline.EventSource(url, {
      lastEventIdParam: 'lastEventId',
      retry: { initialDelay: 20 },
    })
    source.onmessage = (e) => {
      got.push([e.data, e.lastEventId])
      if (e.data !== 'first') source.close()
    }
    source.onerror = (e) => got.push(['error', e.error.code])
  }, `${crossOrigin}/query`)
  await waitFor('query', 3)
  assert.deepEqual(await results('query'), [
    ['first', 'query-1'],
    ['error', 'LIFELINE_ERR_CLIENT_STREAM_ENDED'],
    [`again /query?lastEventId=query-1`, 'query-1'],
  ])

  // 2. Without it: the first connection works (no preflight), the reconnect sends Last-Event-ID,
  // which needs a preflight this server does not allow, so it fails as a network error.
  await page.evaluate((url) => {
    const w = window as unknown as PageState
    const got: unknown[] = (w.results.header = [])
    const source = new w.Lifeline.EventSource(url, { retry: { initialDelay: 20, maxAttempts: 1 } })
    source.onmessage = (e) => got.push([e.data, e.lastEventId])
    source.onerror = (e) =>
      got.push([
        'error',
        e.willRetry ? e.error.code : String((e.error.cause as { code?: string }).code),
        e.willRetry,
      ])
  }, `${crossOrigin}/header`)
  await waitFor('header', 3)
  assert.deepEqual((await results('header')).slice(0, 3), [
    ['first', 'header-1'],
    ['error', 'LIFELINE_ERR_CLIENT_STREAM_ENDED', true],
    ['error', 'LIFELINE_ERR_CLIENT_NETWORK', false], // the preflight failed; maxAttempts 1 gives up
  ])
  assert.deepEqual(
    seen.filter((r) => r.method === 'OPTIONS').map((r) => r.path),
    ['/header'],
    'the only preflight is the reconnect that sends Last-Event-ID',
  )
  assert.ok(
    seen.every((r) => r.method === 'OPTIONS' || r.lastEventId === undefined),
    'no Last-Event-ID ever reached the server (its preflight failed)',
  )

  // 3. A fetch option that resolves to a body the client cannot read: one error, CLOSED, never open.
  await page.evaluate(() => {
    const w = window as unknown as PageState
    const got: unknown[] = (w.results.bodies = [])
    const headers = new Headers({ 'content-type': 'text/event-stream' })
    const nodeStreamLike = { pipe() {}, on() {}, read() {} }
    for (const body of [nodeStreamLike, null, undefined]) {
      const source = new w.Lifeline.EventSource('/stream', {
        fetch: async (url) => ({ status: 200, url, headers, body }),
      })
      source.onopen = () => got.push(['open'])
      source.onerror = (e) => got.push([e.error.code, e.willRetry, source.readyState, e.message])
    }
  })
  await waitFor('bodies', 3)
  const bodies = (await results('bodies')) as Array<[string, boolean, number, string]>
  assert.deepEqual(
    bodies.map((e) => e.slice(0, 3)),
    [
      ['LIFELINE_ERR_CLIENT_BODY_INVALID', false, 2],
      ['LIFELINE_ERR_CLIENT_BODY_INVALID', false, 2],
      ['LIFELINE_ERR_CLIENT_BODY_INVALID', false, 2],
    ],
  )
  assert.match(bodies[0]![3], /a Node stream, not a web ReadableStream/)

  // 4. An AbortError from the fetch fails the connection; window.stop() (a TypeError in Chromium)
  // cannot be told from a network error and reconnects.
  await page.evaluate(() => {
    const w = window as unknown as PageState
    const aborted: unknown[] = (w.results.aborted = [])
    const source = new w.Lifeline.EventSource('/stream', {
      fetch: async () => {
        throw new DOMException('The user aborted a request.', 'AbortError')
      },
    })
    source.onerror = (e) => aborted.push([e.error.code, e.willRetry, source.readyState])
    const stopped: unknown[] = (w.results.stopped = [])
    const live = new w.Lifeline.EventSource('/stream', { retry: { initialDelay: 20 } })
    live.onmessage = (e) => {
      stopped.push(['message', e.data])
      if (stopped.length === 1) window.stop()
      else live.close()
    }
    live.onerror = (e) => stopped.push([e.error.code, e.willRetry])
  })
  await waitFor('aborted', 1)
  await waitFor('stopped', 3)
  assert.deepEqual(await results('aborted'), [['LIFELINE_ERR_CLIENT_ABORTED', false, 2]])
  assert.deepEqual(await results('stopped'), [
    ['message', 'same-origin'],
    ['LIFELINE_ERR_CLIENT_NETWORK', true],
    ['message', 'same-origin'],
  ])

  assert.deepEqual(await page.evaluate(() => (window as unknown as PageState).rejections), [])
})
