import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { handleNode } from '../../packages/lifeline-sse/src/adapters/node.ts'
import { behaviourSuite } from './behaviour-suite.ts'

behaviourSuite('node:http', async (hub, options) => {
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/events')) handleNode(hub, req, res, options())
    else res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
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
