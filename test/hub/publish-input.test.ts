/**
 * Publish input a hostile client sends (a NUL in an event name, data nested too deep, a cut or
 * malformed body): every one gets a JSON 4xx, none counts as a publish error (the shipped alert pages
 * on `lifeline_publish_errors_total`), and a client that goes away mid-body is not an error in the
 * logs.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { openRaw, rawRequest } from './raw-http.ts'
import { http, metricValue, publish, type ServeProcess, startServe } from './serve-process.ts'

let hub: ServeProcess
const ERRORS = 'lifeline_publish_errors_total{reason="error"}'

before(async () => {
  hub = await startServe(['--request-timeout', '1s', '--log-level', 'debug'])
})

after(async () => {
  await hub?.stop('SIGKILL')
})

test('NUL in an event name gets 400 bad_event (JSON and form) and counts no publish error', async () => {
  const json = await publish(hub.url, { topic: 'nul', data: 'x', event: 'a\u0000b' })
  assert.equal(json.status, 400, json.body)
  assert.equal(json.json()['error'], 'bad_event')
  const form = await http(`${hub.url}/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'topic=nul&data=x&event=a%00b',
  })
  assert.equal(form.status, 400, form.body)
  assert.equal(form.json()['error'], 'bad_event')
  assert.equal(await metricValue(hub.url, ERRORS), 0)
})

test('data nested 200k levels deep gets 400 bad_data, not 500', async () => {
  const depth = 200_000
  const body = `{"topic":"deep","data":${'['.repeat(depth)}${']'.repeat(depth)}}`
  const a = await http(`${hub.url}/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  })
  assert.equal(a.status, 400, a.body.slice(0, 200))
  assert.equal(a.json()['error'], 'bad_data')
  assert.equal(await metricValue(hub.url, ERRORS), 0)
})

test('a body that stops arriving gets a JSON 408 within --request-timeout', async () => {
  const a = await rawRequest(
    hub.url,
    'POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"topic":',
    { deadlineMs: 8_000 },
  )
  assert.equal(a.status, 408, a.text)
  assert.equal(a.json()['error'], 'request_timeout')
  assert.ok(a.closed, 'the hub closes the socket after the 408')
})

test('a malformed chunked body gets a JSON 400', async () => {
  const a = await rawRequest(
    hub.url,
    'POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
    { deadlineMs: 8_000 },
  )
  assert.equal(a.status, 400, a.text)
  assert.equal(a.json()['error'], 'bad_request')
})

test('a client that aborts mid-body is logged below error level', async () => {
  const socket = await openRaw(hub.url)
  // `Expect: 100-continue`: Node answers 100 just before it hands the request to the route, so once
  // the 100 is here the route is reading the body, and the cut below lands mid-body.
  const continued = new Promise<void>((resolve) =>
    socket.on('data', (c: Buffer) => {
      if (c.toString('latin1').startsWith('HTTP/1.1 100')) resolve()
    }),
  )
  socket.write(
    'POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n',
  )
  await continued
  const seen = hub.logs.length
  socket.write('{"topic":"a",')
  socket.destroy()
  const line = await hub.waitForLog(
    (l) => hub.logs.indexOf(l) >= seen && l.msg === 'client went away before the answer',
    10_000,
  )
  assert.ok(line.level < 50, `logged at level ${line.level}`)
  const errors = hub.logs.filter((l) => l.level >= 50)
  assert.equal(errors.length, 0, JSON.stringify(errors))
})
