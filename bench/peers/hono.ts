/**
 * Peer: Hono's streamSSE on @hono/node-server. One stream per client; publish awaits nothing and
 * calls writeSSE on each subscribed stream; one interval writes the heartbeat comment to all.
 *
 * Run: npx node bench/peers/hono.ts --port 8003
 */
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { type SSEStreamingApi, streamSSE } from 'hono/streaming'
import { announce, exitOnSignals, parsePeerArgs, parsePublish, RETRY_MS } from './common.ts'

const args = parsePeerArgs()
const subscribers = new Map<string, Set<SSEStreamingApi>>()
let nextId = 0

const app = new Hono()

app.get('/events', (c) => {
  const topics = c.req.queries('topic') ?? []
  c.header('x-accel-buffering', 'no')
  return streamSSE(c, async (stream) => {
    await stream.write(`retry: ${RETRY_MS}\n: ok\n\n`)
    for (const topic of topics) {
      let set = subscribers.get(topic)
      if (!set) subscribers.set(topic, (set = new Set()))
      set.add(stream)
    }
    await new Promise<void>((resolve) => stream.onAbort(resolve))
    for (const topic of topics) subscribers.get(topic)?.delete(stream)
  })
})

app.post('/publish', async (c) => {
  const body = parsePublish(await c.req.text())
  if (!body) return c.json({ error: 'bad_request' }, 400)
  const id = String(++nextId)
  const sent = new Set<SSEStreamingApi>()
  for (const topic of body.topics) {
    for (const stream of subscribers.get(topic) ?? []) {
      if (sent.has(stream)) continue
      sent.add(stream)
      stream.writeSSE({ id, data: body.data }).catch(() => {})
    }
  }
  return c.json({ id }, 201)
})

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
