/**
 * Peer: a plain node:http SSE server, the way most hand-written ones look. Each publish formats the
 * frame once and writes it to every subscribed response (no backpressure handling, no slow-consumer
 * eviction: that is the point of comparing against it). One interval writes the heartbeat to all.
 *
 * Run: npx node bench/peers/node-http.ts --port 8001
 */
import { createServer, type ServerResponse } from 'node:http'
import { announce, exitOnSignals, parsePeerArgs, RETRY_MS, readPublish, topicsOf } from './common.ts'

const args = parsePeerArgs()
const subscribers = new Map<string, Set<ServerResponse>>()
let nextId = 0

const server = createServer(async (req, res) => {
  const path = req.url?.split('?')[0]
  if (req.method === 'GET' && path === '/events') {
    const topics = topicsOf(req.url)
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    })
    res.write(`retry: ${RETRY_MS}\n: ok\n\n`)
    for (const topic of topics) {
      let set = subscribers.get(topic)
      if (!set) subscribers.set(topic, (set = new Set()))
      set.add(res)
    }
    res.on('close', () => {
      for (const topic of topics) subscribers.get(topic)?.delete(res)
    })
    return
  }
  if (req.method === 'POST' && path === '/publish') {
    const body = await readPublish(req)
    if (!body) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad_request"}')
      return
    }
    const id = String(++nextId)
    const frame = `id: ${id}\ndata: ${body.data.split(/\r\n|\r|\n/).join('\ndata: ')}\n\n`
    const sent = new Set<ServerResponse>()
    for (const topic of body.topics) {
      for (const sub of subscribers.get(topic) ?? []) {
        if (sent.has(sub)) continue
        sent.add(sub)
        sub.write(frame)
      }
    }
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id }))
    return
  }
  if (req.method === 'GET' && path === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
    return
  }
  res.writeHead(404).end()
})

const heartbeat = setInterval(() => {
  const seen = new Set<ServerResponse>()
  for (const set of subscribers.values()) {
    for (const sub of set) {
      if (seen.has(sub)) continue
      seen.add(sub)
      sub.write(': ping\n\n')
    }
  }
}, args.heartbeatMs)
heartbeat.unref()

server.listen(args.port, args.host, () => {
  const address = server.address()
  announce(typeof address === 'object' && address ? address.port : args.port)
})
exitOnSignals(() => server.close())
