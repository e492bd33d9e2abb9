import assert from 'node:assert/strict'
import { connect, constants, createServer } from 'node:http2'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { handleNode } from '../../packages/lifeline-sse/src/adapters/node.ts'
import { EventStreamParser } from '../../packages/lifeline-sse/src/protocol/parse.ts'
import { createHub } from '../../packages/lifeline-sse/src/server/hub.ts'
import type { CloseReason } from '../../packages/lifeline-sse/src/server/types.ts'

const within = <T>(what: string, promise: Promise<T>, ms = 10_000): Promise<T> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

test('HTTP/2 through the node adapter: SSE headers without Connection, events, END_STREAM on drain', async (t) => {
  const hub = createHub({ heartbeatMs: 0 })
  const reasons: CloseReason[] = []
  hub.on('close', (_i, reason) => reasons.push(reason))
  const server = createServer((req, res) => handleNode(hub, req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const session = connect(`http://127.0.0.1:${port}`)
  t.after(async () => {
    session.destroy()
    await hub.close()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  const req = session.request({ ':path': '/events?topic=h2' })
  const headers = await within(
    'response headers',
    new Promise<Record<string, unknown>>((r) => req.once('response', r)),
  )
  assert.equal(headers[':status'], 200)
  assert.equal(headers['content-type'], 'text/event-stream; charset=utf-8')
  assert.equal(headers['cache-control'], 'no-cache')
  assert.equal(headers.connection, undefined)

  const events: string[] = []
  const comments: string[] = []
  const parser = new EventStreamParser({
    onEvent: (e) => events.push(e.data),
    onComment: (c) => comments.push(c),
  })
  let waiter: (() => void) | undefined
  req.setEncoding('utf8')
  req.on('data', (chunk: string) => {
    parser.push(chunk)
    waiter?.()
  })
  const until = (what: string, predicate: () => boolean): Promise<void> =>
    within(
      what,
      new Promise<void>((resolve) => {
        waiter = () => predicate() && resolve()
        waiter()
      }),
    )
  await until('first bytes', () => comments.includes('ok'))
  await hub.publish('h2', { data: 'over h2' })
  await until('the event', () => events.includes('over h2'))

  const ended = new Promise<void>((resolve) => req.once('end', resolve))
  const streamClosed = new Promise<number>((resolve) => req.once('close', () => resolve(req.rstCode)))
  await hub.close()
  await within('END_STREAM', ended)
  assert.equal(await within('stream close', streamClosed), constants.NGHTTP2_NO_ERROR)
  assert.deepEqual(reasons, ['shutdown'])
})

test('HTTP/2: a cancelled stream fires its AbortSignal and leaves the registry', async (t) => {
  const hub = createHub({ heartbeatMs: 0 })
  const signals: AbortSignal[] = []
  const server = createServer((req, res) =>
    handleNode(hub, req, res, { onStream: (s) => signals.push(s.signal) }),
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const session = connect(`http://127.0.0.1:${port}`)
  t.after(async () => {
    session.destroy()
    await hub.close()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const req = session.request({ ':path': '/events?topic=h2' })
  await within('response headers', new Promise((r) => req.once('response', r)))
  assert.equal(hub.size, 1)
  const signal = signals[0] as AbortSignal
  const aborted = new Promise<unknown>((resolve) =>
    signal.addEventListener('abort', () => resolve(signal.reason)),
  )
  req.close(constants.NGHTTP2_CANCEL)
  assert.equal(await within('the abort signal', aborted), 'client_closed')
  assert.equal(hub.size, 0)
})
