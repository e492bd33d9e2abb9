/**
 * Over TLS the hub's timeouts hold as over plain HTTP, and one HTTP/2 connection is bounded, against
 * the real `lifeline serve` process with a certificate made here with openssl: HTTP/1.1 header
 * trickles, silent TLS connections, idle HTTP/2 sessions and HTTP/2 bodies that never end are all cut;
 * the server advertises a stream limit and refuses unfinished bodies past the per-connection byte cap.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { type ClientHttp2Session, type ClientHttp2Stream, connect as http2Connect } from 'node:http2'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { makeCert } from '../helpers/tls-cert.ts'
import { openRaw, readAll } from './raw-http.ts'
import { type ServeProcess, startServe } from './serve-process.ts'

const dir = mkdtempSync(join(tmpdir(), 'lifeline-tls-limits-'))
let hub: ServeProcess
/** Every cut must come well before this (the settings below are 1 s). */
const DEADLINE_MS = 8_000

before(async () => {
  const { cert, key } = makeCert(dir)
  hub = await startServe([
    '--tls-cert',
    cert,
    '--tls-key',
    key,
    '--request-timeout',
    '1s',
    '--keep-alive-timeout',
    '1s',
    '--http2-max-streams',
    '10',
    '--max-connection-body',
    '256KiB',
  ])
})

after(async () => {
  await hub?.stop('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

function h2(): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(hub.url, { rejectUnauthorized: false })
    session.once('remoteSettings', () => resolve(session))
    session.once('error', reject)
  })
}

/** Resolves with the status and body of an HTTP/2 response, or 'reset' / 'timeout'. */
function answerOf(
  stream: ClientHttp2Stream,
): Promise<{ status: number; body: string } | 'reset' | 'timeout'> {
  return new Promise((resolve) => {
    let status = 0
    let body = ''
    const timer = setTimeout(() => resolve('timeout'), DEADLINE_MS)
    stream.on('response', (h) => (status = Number(h[':status'])))
    stream.setEncoding('utf8').on('data', (c: string) => (body += c))
    stream.on('end', () => {
      clearTimeout(timer)
      resolve({ status, body })
    })
    stream.on('close', () => {
      clearTimeout(timer)
      resolve(status > 0 ? { status, body } : 'reset')
    })
    stream.on('error', () => {})
  })
}

test('HTTP/1.1 over TLS: a header trickle is cut off by --request-timeout', async () => {
  const socket = await openRaw(hub.url, true)
  const answer = readAll(socket, DEADLINE_MS)
  socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n')
  const drip = setInterval(() => {
    if (!socket.destroyed) socket.write('X-Drip: 1\r\n')
  }, 200)
  const a = await answer
  clearInterval(drip)
  assert.ok(a.closed, 'the hub closed the trickling connection')
  if (a.status !== 0) assert.equal(a.status, 408)
})

test('a TLS connection that sends nothing after the handshake is closed', async () => {
  const socket = await openRaw(hub.url, true)
  const a = await readAll(socket, DEADLINE_MS)
  assert.ok(a.closed, 'the hub closed the silent connection')
})

test('an HTTP/2 session with no stream is closed after --keep-alive-timeout', async () => {
  const session = await h2()
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), DEADLINE_MS)
    session.once('close', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
  session.destroy()
  assert.ok(closed, 'the idle session was closed (GOAWAY)')
})

test('HTTP/2: a publish body that never ends gets 408 request_timeout', async () => {
  const session = await h2()
  try {
    const stream = session.request({
      ':method': 'POST',
      ':path': '/publish',
      'content-type': 'application/json',
    })
    stream.write('{"topic": "slow", "data": ')
    const a = await answerOf(stream)
    assert.notEqual(a, 'timeout', 'the stream was not cut')
    assert.notEqual(a, 'reset', 'a JSON 408 comes before the reset')
    if (typeof a === 'object') {
      assert.equal(a.status, 408, a.body)
      assert.equal(JSON.parse(a.body).error, 'request_timeout')
    }
  } finally {
    session.destroy()
  }
})

test('HTTP/2: the stream limit is advertised and unfinished bodies per connection are capped', async () => {
  const session = await h2()
  try {
    assert.equal(session.remoteSettings.maxConcurrentStreams, 10)
    // 8 streams x 64 KiB of body that never ends: over the 256 KiB the connection may hold.
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    const answers = Array.from({ length: 8 }, () => {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/publish',
        'content-type': 'application/json',
      })
      stream.write('{"topic": "big", "data": "')
      stream.write(chunk)
      return answerOf(stream)
    })
    const results = await Promise.all(answers)
    const refused = results.filter(
      (r) => typeof r === 'object' && r.status === 413 && JSON.parse(r.body).error === 'body_too_large',
    )
    assert.ok(refused.length >= 1, `some stream got 413: ${JSON.stringify(results).slice(0, 300)}`)
    assert.ok(
      results.every((r) => r !== 'timeout'),
      'every stream was answered or reset in time',
    )
  } finally {
    session.destroy()
  }
})
