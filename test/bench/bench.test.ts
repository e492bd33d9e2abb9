/**
 * `lifeline bench`'s load generator (packages/lifeline-hub/src/loadtool/) against real servers on
 * loopback: a peer that delivers everything, and a hand-made server that drops one event and repeats
 * another.
 */
import assert from 'node:assert/strict'
import { createServer, type ServerResponse } from 'node:http'
import { test } from 'node:test'
import { startPeer } from '../../bench/peers/start.ts'
import { runBench } from '../../packages/lifeline-hub/src/loadtool/run.ts'
import { resolveTarget } from '../../packages/lifeline-hub/src/loadtool/target.ts'

test('bench receives every published event on every stream of a plain node:http peer', async (t) => {
  const peer = await startPeer('node-http')
  t.after(() => peer.stop())
  const report = await runBench({
    url: `${peer.url}/events`,
    connections: 40,
    topics: 2,
    rate: 20,
    durationMs: 2000,
    drainMs: 10_000,
    serverPid: peer.pid,
  })
  assert.equal(report.connect.opened, 40)
  assert.ok(report.publish.acknowledged > 10, `only ${report.publish.acknowledged} publishes acknowledged`)
  assert.equal(report.delivery.expected, report.publish.acknowledged * 20)
  assert.equal(report.delivery.received, report.delivery.expected)
  assert.equal(report.delivery.lost, 0)
  assert.equal(report.delivery.duplicates, 0)
  assert.equal(report.delivery.latencyMs.count, report.delivery.received)
  assert.ok(report.server && report.server.fdsPeak >= 40, 'the server pid was sampled')
})

test('bench counts an event the server dropped as lost and one it sent twice as a duplicate', async (t) => {
  const streams = new Set<ServerResponse>()
  let n = 0
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/events')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(': hi\n\n')
      streams.add(res)
      res.on('close', () => streams.delete(res))
      return
    }
    let body = ''
    req.on('data', (c) => {
      body += c
    })
    req.on('end', () => {
      const data = (JSON.parse(body) as { data: string }).data
      // The bench's warm-up publishes (not its payloads) go nowhere, as on a topic nobody follows.
      if (!data.startsWith('lb1 ')) {
        res.writeHead(201).end('{"id":"0"}')
        return
      }
      n++
      const frame = `id: ${n}\ndata: ${data}\n\n`
      // The 3rd event is lost, the 5th is sent twice.
      if (n !== 3) for (const s of streams) s.write(n === 5 ? frame + frame : frame)
      res.writeHead(201).end(`{"id":"${n}"}`)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    for (const s of streams) s.destroy()
    server.close()
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const report = await runBench({
    url: `http://127.0.0.1:${port}/events`,
    connections: 5,
    rate: 5,
    durationMs: 1600,
    drainMs: 1000,
  })
  assert.ok(report.publish.acknowledged >= 5, `only ${report.publish.acknowledged} published`)
  assert.equal(report.delivery.lost, 5, 'one event lost on each of 5 streams')
  assert.equal(report.delivery.duplicates, 5, 'one duplicate on each of 5 streams')
})

test('bench refuses a target that is not loopback unless remote targets are allowed', async () => {
  await assert.rejects(resolveTarget('http://192.0.2.1:8080/events', false), {
    code: 'LIFELINE_ERR_BENCH_TARGET',
  })
  const allowed = await resolveTarget('http://192.0.2.1:8080/events', true)
  assert.equal(allowed.loopback, false)
  assert.equal((await resolveTarget('http://127.0.0.1:1/events', false)).loopback, true)
})
