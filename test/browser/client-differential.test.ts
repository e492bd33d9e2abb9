/**
 * Differential test: the same scripted streams read by Chromium's native EventSource, by our client
 * (bundled, in the same page, and in Node) and by the `eventsource` npm package (Node). Every reader
 * must report the same events (type, data, lastEventId) and resume with the same Last-Event-ID.
 *
 * Each stream sets `retry: 10`, then ends; the reconnect is answered 204, which closes every reader.
 */
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { EventSource as NpmEventSource } from 'eventsource'
import { LifelineEventSource } from '../../packages/lifeline-sse/src/client/index.ts'
import { bundleForBrowser, launchChromium } from '../helpers/chromium.ts'

const enc = new TextEncoder()
const RETRY = 'retry: 10\n'
const TYPES = ['message', 'greeting']

const bytes = (...parts: Array<string | number[]>): Uint8Array =>
  new Uint8Array(parts.flatMap((part) => (typeof part === 'string' ? [...enc.encode(part)] : part)))

/** name -> chunks written in order. */
const CASES: Record<string, Uint8Array[]> = {
  'one event': [bytes(RETRY, 'data: hello\n\n')],
  'multi-line data and a named event': [bytes(RETRY, 'event: greeting\ndata: a\ndata: b\n\ndata: c\n\n')],
  'ids persist, reset, and an id-only block counts': [
    bytes(RETRY, 'id: 1\ndata: x\n\ndata: y\n\nid\ndata: z\n\nid: 3\n\n'),
  ],
  'id with NUL ignored': [bytes(RETRY, 'id: 5\ndata: a\n\nid: 6\0\ndata: b\n\n')],
  'CR, LF and CRLF line ends': [bytes(RETRY, 'data: a\r\rdata: b\r\n\r\ndata: c\n\n')],
  'CRLF split across chunks': [bytes(RETRY, 'data: a\r'), bytes('\n\r'), bytes('\ndata: b\n\n')],
  'comments and unknown fields': [bytes(RETRY, ': hi\nfoo: bar\ndata: x\n:\nDATA: no\n\n')],
  'fields without colon or value': [bytes(RETRY, 'data\n\ndata\ndata\n\ndata:\n\n')],
  'one leading space removed': [bytes(RETRY, 'data:  two\n\ndata:none\n\n')],
  'leading BOM stripped, second BOM kept': [bytes('\uFEFF', RETRY, '\uFEFFdata: ignored\n\ndata: kept\n\n')],
  'unterminated block dropped with its id': [bytes(RETRY, 'id: 1\ndata: a\n\nid: 2\ndata: cut')],
  'multi-byte characters split byte by byte': [
    bytes(RETRY),
    ...[...enc.encode('data: €豆腐😀\n\n')].map((b) => new Uint8Array([b])),
  ],
  'invalid UTF-8 becomes U+FFFD': [bytes(RETRY, 'data: a', [0xff, 0xc3], 'b\n\n')],
  'NUL in data kept': [bytes(RETRY, 'data: a\0b\n\n')],
  'empty event type means message': [bytes(RETRY, 'event:\ndata: x\n\nevent: greeting\nevent:\ndata: y\n\n')],
  'a 64 KiB line': [bytes(RETRY, `data: ${'z'.repeat(65_536)}\n\n`)],
  'retry field variants do not dispatch': [bytes(RETRY, 'retry: x\nretry\ndata: r\n\n')],
}
const NAMES = Object.keys(CASES)

interface Outcome {
  events: Array<[string, string, string]>
  resumedWith: string | null
}

test('native EventSource, eventsource npm and our client read the same streams the same way', async (t) => {
  const script = await bundleForBrowser('packages/lifeline-sse/src/client/index.ts', {
    globalName: 'Lifeline',
  })
  const resumed = new Map<string, string | null>()
  const seen = new Map<string, number>()
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/'
    if (path === '/')
      return void res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>d</title>')
    if (path === '/client.js')
      return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(script)
    // /case/<index>/<reader>
    const [, , index, reader] = path.split('/')
    const chunks = CASES[NAMES[Number(index)] ?? '']
    if (chunks === undefined || reader === undefined) return void res.writeHead(404).end()
    const key = `${index}/${reader}`
    const count = (seen.get(key) ?? 0) + 1
    seen.set(key, count)
    if (count > 1) {
      const header = req.headers['last-event-id']
      resumed.set(key, typeof header === 'string' ? header : null)
      return void res.writeHead(204).end()
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    for (const chunk of chunks) await new Promise<void>((resolve) => res.write(chunk, () => resolve()))
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const browser = await launchChromium()
  t.after(() => browser.close())
  const page = await browser.newPage()
  await page.goto(`${origin}/`)
  await page.addScriptTag({ url: '/client.js' })

  /** Read one stream with any WHATWG-shaped EventSource; resolves when it is closed for good. */
  const readInPage = (paths: string[], which: 'native' | 'ours') =>
    page.evaluate(
      async ({ paths, which, types }) => {
        const Lifeline = (
          window as unknown as { Lifeline: typeof import('../../packages/lifeline-sse/src/client/index.ts') }
        ).Lifeline
        const results: Array<Array<[string, string, string]>> = []
        for (const path of paths) {
          const source =
            which === 'native'
              ? new EventSource(path)
              : new Lifeline.EventSource(path, { retry: { initialDelay: 10 } })
          const events: Array<[string, string, string]> = []
          for (const type of types) {
            source.addEventListener(type, (e) => {
              const m = e as MessageEvent
              events.push([m.type, m.data, m.lastEventId])
            })
          }
          await new Promise<void>((resolve) => {
            source.addEventListener('error', () => {
              if (source.readyState === 2) resolve()
            })
          })
          source.close()
          results.push(events)
        }
        return results
      },
      { paths, which, types: TYPES },
    )

  const readInNode = async (
    path: string,
    make: (url: string) => EventTarget & { readyState: number; close(): void },
  ) => {
    const source = make(origin + path)
    const events: Array<[string, string, string]> = []
    for (const type of TYPES) {
      source.addEventListener(type, (e) => {
        const m = e as MessageEvent
        events.push([m.type, m.data, m.lastEventId])
      })
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${path}: not closed within 15 s`)), 15_000)
      source.addEventListener('error', () => {
        if (source.readyState === 2) {
          clearTimeout(timer)
          resolve()
        }
      })
    })
    source.close()
    return events
  }

  const paths = (reader: string) => NAMES.map((_, i) => `/case/${i}/${reader}`)
  const native = await readInPage(paths('native'), 'native')
  const oursBrowser = await readInPage(paths('ours-browser'), 'ours')
  const outcome = (reader: string, i: number, events: Array<[string, string, string]>): Outcome => ({
    events,
    resumedWith: resumed.get(`${i}/${reader}`) ?? null,
  })

  // Anchors, so a reader that saw nothing cannot agree with another that saw nothing.
  const at = (name: string) => outcome('native', NAMES.indexOf(name), native[NAMES.indexOf(name)]!)
  assert.deepEqual(at('ids persist, reset, and an id-only block counts'), {
    events: [
      ['message', 'x', '1'],
      ['message', 'y', '1'],
      ['message', 'z', ''],
    ],
    resumedWith: '3',
  })
  assert.deepEqual(at('unterminated block dropped with its id'), {
    events: [['message', 'a', '1']],
    resumedWith: '1',
  })

  for (const [i, name] of NAMES.entries()) {
    const expected = outcome('native', i, native[i]!)
    assert.ok(expected.events.length > 0, `${name}: the native reader saw events`)
    const oursNode = await readInNode(
      `/case/${i}/ours-node`,
      (url) => new LifelineEventSource(url, { retry: { initialDelay: 10 } }),
    )
    const npm = await readInNode(`/case/${i}/npm`, (url) => new NpmEventSource(url))
    assert.deepEqual(outcome('ours-browser', i, oursBrowser[i]!), expected, `${name}: our client in Chromium`)
    assert.deepEqual(outcome('ours-node', i, oursNode), expected, `${name}: our client in Node`)
    assert.deepEqual(outcome('npm', i, npm), expected, `${name}: eventsource npm`)
  }
})
