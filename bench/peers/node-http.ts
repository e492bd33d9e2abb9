/**
 * Peer: a plain node:http SSE server, the way most hand-written ones look. Each publish formats the
 * frame once and writes it to every subscribed response (no backpressure handling, no slow-consumer
 * eviction: that is the point of comparing against it). One interval writes the heartbeat to all.
 *
 * Run: npx node bench/peers/node-http.ts --port 8001
 */
import type { ServerResponse } from 'node:http'
import { parsePeerArgs, RETRY_MS, serveNodePeer, topicsOf, totalSize } from './common.ts'
import { anyBackedUp } from './turns.ts'

const args = parsePeerArgs()
const subscribers = new Map<string, Set<ServerResponse>>()
let nextId = 0

function* allResponses(): Generator<ServerResponse> {
  for (const set of subscribers.values()) yield* set
}

serveNodePeer(args, {
  events(req, res) {
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
  },
  /** Formats the frame once and writes it to every subscribed response. */
  publish(topics, data) {
    const id = String(++nextId)
    const frame = `id: ${id}\ndata: ${data.split(/\r\n|\r|\n/).join('\ndata: ')}\n\n`
    if (topics.length === 1) {
      for (const sub of subscribers.get(topics[0] as string) ?? []) sub.write(frame)
      return id
    }
    const sent = new Set<ServerResponse>()
    for (const topic of topics) {
      for (const sub of subscribers.get(topic) ?? []) {
        if (sent.has(sub)) continue
        sent.add(sub)
        sub.write(frame)
      }
    }
    return id
  },
  backedUp: () => anyBackedUp(allResponses()),
  streams: () => totalSize(subscribers.values()),
})

const heartbeat = setInterval(() => {
  const seen = new Set<ServerResponse>()
  for (const sub of allResponses()) {
    if (seen.has(sub)) continue
    seen.add(sub)
    sub.write(': ping\n\n')
  }
}, args.heartbeatMs)
heartbeat.unref()
