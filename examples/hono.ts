/**
 * lifeline-sse/server in Hono on @hono/node-server, through the Web Request -> Response adapter
 * (the same handler runs on Bun and Deno).
 *   npx node examples/hono.ts
 *   curl -N 'http://127.0.0.1:8083/events?topic=news'
 *   curl -X POST http://127.0.0.1:8083/publish -H 'content-type: application/json' -d '{"topic":"news","data":"hi"}'
 */
import { type HttpBindings, serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import { Hono } from 'hono'
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
  const body = await c.req.json<{ topic: string | string[]; data: string; event?: string }>()
  const id = await hub.publish(body.topic, { data: body.data, event: body.event })
  return c.json({ id }, 201)
})

const server = serve({ fetch: app.fetch, port: 8083, hostname: '127.0.0.1' }, (info) =>
  console.log(`listening on http://127.0.0.1:${info.port}`),
)

process.once('SIGTERM', async () => {
  await hub.close()
  server.close()
})
