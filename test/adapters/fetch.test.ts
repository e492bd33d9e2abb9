import assert from 'node:assert/strict'
import { test } from 'node:test'
import { handleFetch } from '../../packages/lifeline-sse/src/adapters/fetch.ts'
import { createHub } from '../../packages/lifeline-sse/src/server/hub.ts'
import type { CloseReason } from '../../packages/lifeline-sse/src/server/types.ts'

const decoder = new TextDecoder()

async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, needle: string): Promise<string> {
  let text = ''
  const deadline = performance.now() + 10_000
  while (!text.includes(needle)) {
    if (performance.now() > deadline) throw new Error(`no ${JSON.stringify(needle)} within 10 s: ${text}`)
    const { value, done } = await reader.read()
    if (done) throw new Error(`stream ended before ${JSON.stringify(needle)}: ${text}`)
    text += decoder.decode(value, { stream: true })
  }
  return text
}

test('handleFetch: a Web Response with SSE headers, events, and request.signal closing the stream', async () => {
  const hub = createHub({ heartbeatMs: 0 })
  const reasons: CloseReason[] = []
  hub.on('close', (_i, r) => reasons.push(r))
  const controller = new AbortController()
  const response = handleFetch(
    hub,
    new Request('http://hub.test/events?topic=a&lastEventId=', { signal: controller.signal }),
    { remoteAddress: '192.0.2.1' },
  )
  assert.equal(response.status, 200)
  assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8')
  assert.equal(response.headers.get('connection'), null)
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  assert.match(await readUntil(reader, ': ok\n\n'), /^retry: \d+\n\n: ok\n\n$/)
  const id = await hub.publish('a', { data: 'web' })
  assert.equal(await readUntil(reader, '\n\n'), `id: ${id}\ndata: web\n\n`)
  assert.equal(hub.connections()[0]?.remoteAddress, '192.0.2.1')
  controller.abort()
  assert.equal(hub.size, 0)
  assert.deepEqual(reasons, ['client_closed'])
  await hub.close()
})

test('handleFetch: cancelling the body closes the stream; bad topics answer 400 JSON', async () => {
  const hub = createHub({ heartbeatMs: 0 })
  const response = handleFetch(hub, new Request('http://hub.test/events?topic=b'))
  await (response.body as ReadableStream<Uint8Array>).cancel()
  assert.equal(hub.size, 0)
  assert.equal(hub.stats().closed.client_closed, 1)
  const bad = handleFetch(hub, new Request('http://hub.test/events'))
  assert.equal(bad.status, 400)
  assert.equal((await bad.json()).error, 'bad_topic')
  await hub.close()
  const late = handleFetch(hub, new Request('http://hub.test/events?topic=b'))
  assert.equal(late.status, 503)
  assert.ok(Number(late.headers.get('retry-after')) >= 1)
  assert.equal((await late.json()).error, 'draining')
})
