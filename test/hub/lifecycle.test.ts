/**
 * Process lifecycle of the real `lifeline serve`: drain on SIGTERM (readiness fails, streams end
 * cleanly with a retry hint, exit 0), HTTP/2 over TLS with HTTP/1.1 fallback on one port (a self-signed
 * certificate made here with openssl), the `publish` and `tail` companions.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect as http2Connect } from 'node:http2'
import { request as httpsRequest } from 'node:https'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { EventStreamParser } from '../../packages/lifeline-sse/src/protocol/index.ts'
import type { ParsedEvent } from '../../packages/lifeline-sse/src/protocol/types.ts'
import { makeCert } from '../helpers/tls-cert.ts'
import { http, openStream, publish, startServe } from './serve-process.ts'

const dir = mkdtempSync(join(tmpdir(), 'lifeline-life-'))
after(() => rmSync(dir, { recursive: true, force: true }))

test('SIGTERM drains: readiness fails, new streams are refused, streams end cleanly, exit 0', async (t) => {
  const hub = await startServe([
    '--shutdown-timeout',
    '2s',
    '--max-buffered',
    '16MiB',
    '--write-timeout',
    '30s',
    '--retry',
    '1s',
  ])
  t.after(() => hub.stop('SIGKILL'))
  const streams = await Promise.all([
    openStream(hub.url, '/events?topic=drain'),
    openStream(hub.url, '/events?topic=drain'),
  ])
  // A client that never reads holds the drain open (its bytes cannot flush) until --shutdown-timeout,
  // which leaves time to watch the hub while it drains.
  const stuck = connect(Number(new URL(hub.url).port), '127.0.0.1')
  stuck.on('error', () => {})
  await once(stuck, 'connect')
  stuck.write('GET /events?topic=drain HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  stuck.pause()
  const chunk = 'd'.repeat(256 * 1024)
  for (let i = 0; i < 40; i++)
    assert.equal((await publish(hub.url, { topic: 'drain', data: chunk })).status, 201)
  await Promise.all(streams.map((s) => s.waitFor(40, 20_000)))
  const started = Date.now()
  hub.child.kill('SIGTERM')
  let ready = await http(`${hub.url}/readyz`)
  while (ready.status === 200 && Date.now() - started < 2_000) ready = await http(`${hub.url}/readyz`)
  assert.equal(ready.status, 503)
  assert.equal(ready.json()['reason'], 'draining')
  const refused = await http(`${hub.url}/events?topic=drain`)
  assert.equal(refused.status, 503)
  assert.ok(refused.headers['retry-after'])
  for (const s of streams) {
    assert.equal(await s.ended, 'end', 'a clean end, not a reset')
    assert.ok(s.retries.length >= 2, 'a retry hint was sent before the end')
  }
  assert.equal(await hub.exited, 0)
  assert.ok(Date.now() - started < 8_000)
  assert.ok(hub.logs.some((l) => l.msg === 'connection close' && l['reason'] === 'shutdown'))
  stuck.destroy()
})

test('with --tls-cert/--tls-key the hub serves HTTP/2 streams and HTTP/1.1 on one port', async (t) => {
  const { cert, key } = makeCert(dir)
  const hub = await startServe(['--tls-cert', cert, '--tls-key', key])
  t.after(() => hub.stop('SIGKILL'))
  assert.match(hub.url, /^https:\/\//)
  const session = http2Connect(hub.url, { rejectUnauthorized: false })
  t.after(() => session.destroy())
  // More than the 6 streams per origin a browser allows over HTTP/1.1, on one connection.
  const count = 8
  const received: ParsedEvent[][] = []
  const heads = await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const events: ParsedEvent[] = []
      received.push(events)
      const stream = session.request({ ':path': `/events?topic=h2&n=${i}` })
      const parser = new EventStreamParser({ onEvent: (e) => events.push(e) })
      stream.on('data', (c: Buffer) => parser.push(c))
      return new Promise<Record<string, unknown>>((resolve) => stream.once('response', (h) => resolve(h)))
    }),
  )
  for (const h of heads) {
    assert.equal(h[':status'], 200)
    assert.equal(h['content-type'], 'text/event-stream; charset=utf-8')
    assert.equal(h['connection'], undefined)
  }
  // Publish over HTTP/1.1 on the same port (ALPN fallback).
  const answer = await new Promise<{ status: number; version: string; body: string }>((resolve, reject) => {
    const req = httpsRequest(
      `${hub.url}/publish`,
      { method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (c: string) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, version: res.httpVersion, body }))
      },
    )
    req.on('error', reject)
    req.end(JSON.stringify({ topic: 'h2', data: 'over two' }))
  })
  assert.equal(answer.version, '1.1')
  assert.equal(answer.status, 201)
  const deadline = Date.now() + 10_000
  while (received.some((e) => e.length === 0) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20))
  for (const events of received) assert.equal(events[0]?.data, 'over two')
  const conns = await new Promise<string>((resolve) => {
    const s = session.request({ ':path': '/api/connections' })
    let body = ''
    s.setEncoding('utf8').on('data', (c: string) => (body += c))
    s.on('end', () => resolve(body))
  })
  assert.equal(JSON.parse(conns).count, count)
})
