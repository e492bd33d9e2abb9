/**
 * Peer: better-sse (sessions + one channel per topic; channel.broadcast fans out), its own keep-alive
 * timer per session as the library does it.
 *
 * Run: npx node bench/peers/better-sse.ts --port 8002
 */
import { createServer } from 'node:http'
import { type Channel, createChannel, createSession } from 'better-sse'
import { announce, exitOnSignals, parsePeerArgs, RETRY_MS, readPublish, topicsOf } from './common.ts'

const args = parsePeerArgs()
const channels = new Map<string, Channel>()
let nextId = 0

function channelOf(topic: string): Channel {
  let channel = channels.get(topic)
  if (!channel) channels.set(topic, (channel = createChannel()))
  return channel
}

/** The data is passed on as given (better-sse would JSON-encode it by default). */
const asText = (data: unknown) => String(data)

const server = createServer(async (req, res) => {
  const path = req.url?.split('?')[0]
  if (req.method === 'GET' && path === '/events') {
    const topics = topicsOf(req.url)
    const session = await createSession(req, res, {
      retry: RETRY_MS,
      keepAlive: args.heartbeatMs,
      serializer: asText,
      headers: { 'x-accel-buffering': 'no' },
    })
    for (const topic of topics) channelOf(topic).register(session)
    return
  }
  if (req.method === 'POST' && path === '/publish') {
    const body = await readPublish(req)
    if (!body) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad_request"}')
      return
    }
    const id = String(++nextId)
    for (const topic of body.topics) channels.get(topic)?.broadcast(body.data, 'message', { eventId: id })
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id }))
    return
  }
  if (req.method === 'GET' && path === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
    return
  }
  res.writeHead(404).end()
})

server.listen(args.port, args.host, () => {
  const address = server.address()
  announce(typeof address === 'object' && address ? address.port : args.port)
})
exitOnSignals(() => server.close())
