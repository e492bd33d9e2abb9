/**
 * lifeline-sse/server in Express (Express requests are node:http requests).
 *   npx node examples/express.ts
 *   curl -N 'http://127.0.0.1:8081/events?topic=news'
 *   curl -X POST http://127.0.0.1:8081/publish -H 'content-type: application/json' -d '{"topic":"news","data":"hi"}'
 */
import express from 'express'
import { createHub, handleNode } from 'lifeline-sse/server'

const hub = createHub()
const app = express()
app.use(express.json())

app.get('/events', (req, res) => {
  handleNode(hub, req, res)
})

app.post('/publish', async (req, res) => {
  const { topic, data, event } = req.body as { topic: string | string[]; data: unknown; event?: string }
  const id = await hub.publish(topic, { data: typeof data === 'string' ? data : JSON.stringify(data), event })
  res.status(201).json({ id })
})

const server = app.listen(8081, '127.0.0.1', () => console.log('listening on http://127.0.0.1:8081'))

process.once('SIGTERM', async () => {
  await hub.close()
  server.close()
})
