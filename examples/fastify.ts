/**
 * lifeline-sse/server in Fastify: the reply is hijacked once the stream is admitted.
 *   node examples/fastify.ts                       (PORT=8082 by default)
 *   curl -N 'http://127.0.0.1:8082/events?topic=news'
 *   curl -X POST http://127.0.0.1:8082/publish -H 'content-type: application/json' -d '{"topic":"news","data":"hi"}'
 */
import Fastify from 'fastify'
import { LifelineError } from 'lifeline-sse/protocol'
import { createHub, handleFastify } from 'lifeline-sse/server'

const hub = createHub()
const app = Fastify({ bodyLimit: 65_536 })

app.get('/events', (request, reply) => {
  handleFastify(hub, request, reply)
})

app.post<{ Body: { topic?: string | string[]; data?: unknown; event?: string } | null }>(
  '/publish',
  async (request, reply) => {
    const { topic, data, event } = request.body ?? {}
    const id = await hub.publish(topic ?? [], {
      data: typeof data === 'string' ? data : JSON.stringify(data ?? null),
      event,
    })
    return reply.code(201).send({ id })
  },
)

// A LifelineError carries its HTTP answer; Fastify's own errors (bad JSON, body too large) keep theirs.
app.setErrorHandler((err, _request, reply) => {
  if (err instanceof LifelineError) return reply.code(err.status).send(err)
  return reply.send(err)
})

// preClose, not onClose: Fastify waits for open requests before onClose runs, and a stream stays open
// until the hub ends it. Draining here sends every stream its retry hint and clean end first.
app.addHook('preClose', async () => {
  await hub.close()
})

const port = Number(process.env.PORT ?? 8082)
await app.listen({ port, host: '127.0.0.1' })
console.log(`listening on http://127.0.0.1:${port}`)
process.once('SIGTERM', () => void app.close())
