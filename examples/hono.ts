/**
 * lifeline-sse/server in Hono on @hono/node-server, through the Web Request -> Response adapter
 * (the same handler runs on Bun and Deno).
 *   node examples/hono.ts                          (PORT=8083 by default)
 *   curl -N 'http://127.0.0.1:8083/events?topic=news'
 *   curl -X POST http://127.0.0.1:8083/publish -H 'content-type: application/json' -d '{"topic":"news","data":"hi"}'
 */
import { type HttpBindings, serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { LifelineError } from 'lifeline-sse/protocol'
import { createHub, handleFetch } from 'lifeline-sse/server'

const hub = createHub()
const app = new Hono<{ Bindings: HttpBindings }>()

// The runtime knows the client address; pass it for per-IP limits and the registry.
app.get('/events', (c) =>
  handleFetch(hub, c.req.raw, {
    remoteAddress: getConnInfo(c).remote.address,
    socket: c.env.incoming.socket,
  }),
)

app.post('/publish', async (c) => {
  const body = await c.req.json<{ topic?: string | string[]; data?: unknown; event?: string }>().catch(() => {
    throw new HTTPException(400, { message: 'the body must be JSON: {"topic": "news", "data": "hi"}' })
  })
  const { topic, data, event } = body ?? {}
  const id = await hub.publish(topic ?? [], {
    data: typeof data === 'string' ? data : JSON.stringify(data ?? null),
    event,
  })
  return c.json({ id }, 201)
})

// A LifelineError carries its HTTP answer (400 bad_topic, 503 draining, ...).
app.onError((err, c) => {
  if (err instanceof LifelineError) return c.json(err.toJSON(), err.status as 400)
  if (err instanceof HTTPException) return c.json({ error: 'bad_request', message: err.message }, err.status)
  console.error(err)
  return c.json({ error: 'internal_error' }, 500)
})

const port = Number(process.env.PORT ?? 8083)
const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info) =>
  console.log(`listening on http://127.0.0.1:${info.port}`),
)

process.once('SIGTERM', async () => {
  server.close()
  await hub.close()
})
