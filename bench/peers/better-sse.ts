/**
 * Peer: better-sse (sessions + one channel per topic; channel.broadcast fans out), its own keep-alive
 * timer per session as the library does it.
 *
 * Run: npx node bench/peers/better-sse.ts --port 8002
 */
import type { ServerResponse } from 'node:http'
import { type Channel, createChannel, createSession } from 'better-sse'
import { parsePeerArgs, RETRY_MS, serveNodePeer, topicsOf } from './common.ts'
import { anyBackedUp } from './turns.ts'

const args = parsePeerArgs()
const channels = new Map<string, Channel>()
/** Only for the flood's backlog probe (bench/peers/turns.ts): better-sse keeps its own registry. */
const responses = new Set<ServerResponse>()
let nextId = 0

function channelOf(topic: string): Channel {
  let channel = channels.get(topic)
  if (!channel) channels.set(topic, (channel = createChannel()))
  return channel
}

/** The data is passed on as given (better-sse would JSON-encode it by default). */
const asText = (data: unknown) => String(data)

serveNodePeer(args, {
  async events(req, res) {
    const topics = topicsOf(req.url)
    const session = await createSession(req, res, {
      retry: RETRY_MS,
      keepAlive: args.heartbeatMs,
      serializer: asText,
      headers: { 'x-accel-buffering': 'no' },
    })
    for (const topic of topics) channelOf(topic).register(session)
    responses.add(res)
    res.once('close', () => responses.delete(res))
  },
  publish(topics, data) {
    const id = String(++nextId)
    for (const topic of topics) channels.get(topic)?.broadcast(data, 'message', { eventId: id })
    return id
  },
  backedUp: () => anyBackedUp(responses),
  streams: () => {
    let n = 0
    for (const channel of channels.values()) n += channel.sessionCount
    return n
  },
})
