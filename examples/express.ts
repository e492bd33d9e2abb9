/**
 * lifeline-sse/server in Express (Express requests are node:http requests).
 *   node examples/express.ts                       (PORT=8081 by default)
 *   curl -N 'http://127.0.0.1:8081/events?topic=news'
 *   curl -X POST http://127.0.0.1:8081/publish -H 'content-type: application/json' -d '{"topic":"news","data":"hi"}'
 */
import express, { type ErrorRequestHandler } from 'express'
import { LifelineError } from 'lifeline-sse/protocol'
import { createHub, handleNode } from 'lifeline-sse/server'

const hub = createHub()
const app = express()
app.use(express.json({ limit: '64kb' }))

app.get('/events', (req, res) => {
  handleNode(hub, req, res)
})

app.post('/publish', async (req, res) => {
  const { topic, data, event } = (req.body ?? {}) as {
    topic?: string | string[]
    data?: unknown
    event?: string
  }
  const id = await hub.publish(topic ?? [], {
    data: typeof data === 'string' ? data : JSON.stringify(data ?? null),
    event,
  })
  res.status(201).json({ id })
})

// Express 5 hands a rejected async handler to the error middleware: answer LifelineError as JSON 4xx.
const onError: ErrorRequestHandler = (err, _req, res, _next) => {
  if (err instanceof LifelineError) return void res.status(err.status).json(err)
  const status = typeof err?.status === 'number' && err.status < 500 ? err.status : 500 // body-parser's 400/413
  if (status >= 500) console.error(err)
  res
    .status(status)
    .json({ error: status >= 500 ? 'internal_error' : 'bad_request', message: String(err?.message) })
}
app.use(onError)

const port = Number(process.env.PORT ?? 8081)
const server = app.listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}`))

process.once('SIGTERM', async () => {
  server.close()
  await hub.close()
})
