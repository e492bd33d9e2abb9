/**
 * Interop: our client reads streams written by better-sse (a popular SSE server library) correctly:
 * JSON-serialised data, named events, ids, its retry and keep-alive comments, channels, and resume
 * through better-sse's `lastId` (which reads our Last-Event-ID header).
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { createChannel, createSession } from 'better-sse'
import { LifelineEventSource } from '../../packages/lifeline-sse/src/client/index.ts'
import { Collector } from './collect.ts'

test('reads better-sse sessions and channels, and resumes with their ids', async (t) => {
  const resumedFrom: string[] = []
  const channel = createChannel()
  const server = createServer(async (req, res) => {
    const first = resumedFrom.length === 0
    // The second session writes raw text (no JSON). better-sse 0.16 turns CR/CRLF into LF but writes the
    // continuation lines without a `data:` prefix, so every spec reader (browsers included) keeps only
    // the first line: "second line" and "third" are lines with unknown field names.
    const session = await createSession(req, res, {
      retry: 20,
      keepAlive: 50,
      ...(first ? {} : { serializer: String }),
    })
    resumedFrom.push(session.lastId)
    if (first) {
      session.push({ hello: 'world', n: 1 }, 'greeting', 'a1')
      session.push('line one\nline two\r\nline three', 'message', 'a2')
      session.push('€豆腐 😀', 'message', 'a3')
      // Let at least one keep-alive comment through before ending (comments must be ignored).
      setTimeout(() => res.end(), 120)
      return
    }
    channel.register(session)
    channel.broadcast(`resumed from ${session.lastId}\r\nsecond line\rthird`, 'status')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sse`
  const source = new LifelineEventSource(url, { retry: { initialDelay: 5000 } })
  t.after(() => source.close())
  const collector = new Collector(source, ['message', 'greeting', 'status', 'error'])
  await collector.count('status', 1, 15_000)

  assert.deepEqual(
    collector.seen.map((e) => [e.type, e.data, e.lastEventId]),
    [
      ['greeting', '{"hello":"world","n":1}', 'a1'],
      ['message', '"line one\\nline two\\r\\nline three"', 'a2'],
      ['message', '"€豆腐 😀"', 'a3'],
      ['error', undefined, undefined],
      ['status', 'resumed from a3', source.lastEventId],
    ],
  )
  // A channel broadcast carries a generated UUID id, which becomes the id to resume from.
  assert.match(source.lastEventId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
  assert.deepEqual(resumedFrom, ['', 'a3'])
  // better-sse's `retry: 20` replaced our 5 s initialDelay for the first reconnect.
  assert.equal(source.serverRetry, 20)
})
