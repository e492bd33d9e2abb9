import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { handleNode } from '../../packages/lifeline-sse/src/adapters/node.ts'
import { behaviourSuite } from './behaviour-suite.ts'

behaviourSuite('Express', async (hub, options) => {
  const app = express()
  app.get('/events', (req, res) => {
    handleNode(hub, req, res, options())
  })
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
})
