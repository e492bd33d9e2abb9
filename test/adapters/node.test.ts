import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { test } from 'node:test'
import { handleNode } from '../../packages/lifeline-sse/src/adapters/node.ts'
import { createHub } from '../../packages/lifeline-sse/src/server/hub.ts'
import { openRaw } from '../server/sse-client.ts'
import { behaviourSuite } from './behaviour-suite.ts'

behaviourSuite('node:http', async (hub, options) => {
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/events')) handleNode(hub, req, res, options())
    else res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
})

test('node:http: HTTP/1.1 streams get each event as one chunk framed once and shared, then a clean end', async (t) => {
  const hub = createHub({ heartbeatMs: 0 })
  // What the server's sockets are asked to write, by object: observed, not replaced.
  const written = new Map<Socket, unknown[]>()
  const server = createServer((req, res) => {
    handleNode(hub, req, res)
  })
  server.on('connection', (socket: Socket) => {
    const seen: unknown[] = []
    written.set(socket, seen)
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean
    socket.write = ((...args: unknown[]) => {
      seen.push(args[0])
      return write(...args)
    }) as typeof socket.write
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const a = await openRaw(`http://127.0.0.1:${port}/events?topic=t`)
  const b = await openRaw(`http://127.0.0.1:${port}/events?topic=t`)
  t.after(async () => {
    a.close()
    b.close()
    await hub.close()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  await a.waitFor('first bytes', () => a.comments.includes('ok'))
  await b.waitFor('first bytes', () => b.comments.includes('ok'))
  const id = await hub.publish('t', { data: 'one\ntwo' })
  for (const s of [a, b]) await s.waitFor('the event', () => s.events.length === 1)
  assert.deepEqual(
    [a, b].map((s) => s.events[0]),
    [
      { type: 'message', data: 'one\ntwo', id },
      { type: 'message', data: 'one\ntwo', id },
    ],
  )
  const [first, second] = [...written.values()].map((list) => list.at(-1))
  assert.ok(Buffer.isBuffer(first), 'the event went to the socket as one buffer')
  assert.equal(first, second, 'both streams were handed the same framed chunk')
  const text = (first as Buffer).toString('latin1')
  const size = Number.parseInt(text.slice(0, text.indexOf('\r\n')), 16)
  assert.equal(text.length, text.indexOf('\r\n') + 2 + size + 2, 'size line, bytes, CRLF: one whole chunk')
  await hub.close()
  for (const s of [a, b]) assert.deepEqual(await s.ended, { clean: true })
})

test('node:http: a response whose write a middleware wrapped keeps getting every byte through it', async (t) => {
  const hub = createHub({ heartbeatMs: 0 })
  let wrapped = 0
  const server = createServer((req, res) => {
    const write = res.write.bind(res) as (chunk: Uint8Array) => boolean
    // A middleware's wrapper (compression, a byte counter): it must see the events too.
    res.write = ((chunk: Uint8Array) => {
      wrapped += chunk.byteLength
      return write(chunk)
    }) as typeof res.write
    handleNode(hub, req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const a = await openRaw(`http://127.0.0.1:${port}/events?topic=t`)
  t.after(async () => {
    a.close()
    await hub.close()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  await a.waitFor('first bytes', () => a.comments.includes('ok'))
  const before = wrapped
  await hub.publish('t', { data: 'seen by the wrapper' })
  await a.waitFor('the event', () => a.events.length === 1)
  assert.ok(
    wrapped - before >= 'data: seen by the wrapper'.length,
    'the event went through the wrapped write',
  )
})
