import Fastify from 'fastify'
import { handleFastify } from '../../packages/lifeline-sse/src/adapters/fastify.ts'
import { behaviourSuite } from './behaviour-suite.ts'

behaviourSuite('Fastify', async (hub, options) => {
  const app = Fastify({ forceCloseConnections: true })
  app.get('/events', (request, reply) => {
    handleFastify(hub, request, reply, options())
  })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  return { url: address, close: () => app.close() }
})
