/**
 * lifeline-sse/server in Fastify: the reply is hijacked once the stream is admitted.
 *   npx node examples/fastify.ts
 *   curl -N 'http://127.0.0.1:8082/events?topic=news'
 *   curl -X POST http://127.0.0.1:8082/publish -H 'content-type: application/json' -d '{"topic":"news","data":"hi"}'
 */
import Fastify from 'fastify'
import { createHub, handleFastify } from 'lifeline-sse/server'

const hub = createHub()
const app = Fastify()

app.get('/events', (request, reply) => {
  handleFastify(hub, request, reply)
})

app.post<{ Body: { topic: string | string[]; data: string; event?: string } }>(
  '/publish',
  async (request, reply) => {
    const id = await hub.publish(request.body.topic, { data: request.body.data, event: request.body.event })
    return reply.code(201).send({ id })
  },
)

app.addHook('onClose', async () => {
  await hub.close()
})

await app.listen({ port: 8082, host: '127.0.0.1' })
console.log('listening on http://127.0.0.1:8082')
process.once('SIGTERM', () => void app.close())
