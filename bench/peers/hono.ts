/**
 * Peer: Hono's streamSSE on @hono/node-server. One stream per client; publish awaits nothing and
 * calls writeSSE on each subscribed stream; one interval writes the heartbeat comment to all.
 *
 * Run: npx node bench/peers/hono.ts --port 8003
 */
import type { ServerResponse } from 'node:http'
import { type HttpBindings, serve } from '@hono/node-server'
import { Hono } from 'hono'
import { type SSEStreamingApi, streamSSE } from 'hono/streaming'
import { announce, exitOnSignals, parsePeerArgs, parsePublish, RETRY_MS, totalSize } from './common.ts'
import { anyBackedUp, parseTurnSpec, runTurns, type TurnPeer } from './turns.ts'

const args = parsePeerArgs()
const subscribers = new Map<string, Set<SSEStreamingApi>>()
/** Only for the flood's backlog probe (bench/peers/turns.ts). */
const responses = new Set<ServerResponse>()
let nextId = 0

const app = new Hono<{ Bindings: HttpBindings }>()

function publish(topics: readonly string[], data: string): string {
  const id = String(++nextId)
  if (topics.length === 1) {
    for (const stream of subscribers.get(topics[0] as string) ?? [])
      stream.writeSSE({ id, data }).catch(() => {})
    return id
  }
  const sent = new Set<SSEStreamingApi>()
  for (const topic of topics) {
    for (const stream of subscribers.get(topic) ?? []) {
      if (sent.has(stream)) continue
      sent.add(stream)
      stream.writeSSE({ id, data }).catch(() => {})
    }
  }
  return id
}

const turns: TurnPeer = {
  publish: (topic, data) => publish([topic], data),
  backedUp: () => anyBackedUp(responses),
  streams: () => totalSize(subscribers.values()),
}

app.get('/events', (c) => {
  const topics = c.req.queries('topic') ?? []
  const outgoing = c.env.outgoing
  c.header('x-accel-buffering', 'no')
  return streamSSE(c, async (stream) => {
    await stream.write(`retry: ${RETRY_MS}\n: ok\n\n`)
    for (const topic of topics) {
      let set = subscribers.get(topic)
      if (!set) subscribers.set(topic, (set = new Set()))
      set.add(stream)
    }
    responses.add(outgoing)
    await new Promise<void>((resolve) => stream.onAbort(resolve))
    responses.delete(outgoing)
    for (const topic of topics) subscribers.get(topic)?.delete(stream)
  })
})

app.post('/publish', async (c) => {
  const body = parsePublish(await c.req.text())
  if (!body) return c.json({ error: 'bad_request' }, 400)
  return c.json({ id: publish(body.topics, body.data) }, 201)
})

app.post('/bench/turns', async (c) => {
  const spec = parseTurnSpec(await c.req.text())
  if (!spec) return c.json({ error: 'bad_request' }, 400)
  return c.json(await runTurns(spec, turns))
})

app.get('/bench/streams', (c) => c.json({ streams: turns.streams() }))

app.get('/healthz', (c) => c.json({ ok: true }))

const heartbeat = setInterval(() => {
  const seen = new Set<SSEStreamingApi>()
  for (const set of subscribers.values()) {
    for (const stream of set) {
      if (seen.has(stream)) continue
      seen.add(stream)
      stream.write(': ping\n\n').catch(() => {})
    }
  }
}, args.heartbeatMs)
heartbeat.unref()

const server = serve({ fetch: app.fetch, port: args.port, hostname: args.host }, (info) =>
  announce(info.port),
)
exitOnSignals(() => server.close())
