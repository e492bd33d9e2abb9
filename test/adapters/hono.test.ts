import type { AddressInfo } from 'node:net'
import { type HttpBindings, type ServerType, serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import { Hono } from 'hono'
import { handleFetch } from '../../packages/lifeline-sse/src/adapters/fetch.ts'
import { behaviourSuite } from './behaviour-suite.ts'

behaviourSuite('Hono (@hono/node-server)', async (hub, options) => {
  const app = new Hono<{ Bindings: HttpBindings }>()
  app.get('/events', (c) =>
    handleFetch(hub, c.req.raw, {
      ...options(),
      remoteAddress: getConnInfo(c).remote.address,
      socket: c.env.incoming.socket,
    }),
  )
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        ;(server as import('node:http').Server).closeAllConnections?.()
        server.close(() => resolve())
      }),
  }
})
