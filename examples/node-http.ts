/**
 * lifeline-sse/server on plain node:http: the README's "server library in 30 seconds", runnable.
 *   node examples/node-http.ts                     (PORT=8080 by default)
 *   curl -N 'http://127.0.0.1:8080/events?topic=news'
 *   curl -X POST 'http://127.0.0.1:8080/publish?topic=news' -d 'hello'
 */
import { createServer } from 'node:http'
import { LifelineError } from 'lifeline-sse/protocol'
import { createHub, handleNode } from 'lifeline-sse/server'

const hub = createHub({ heartbeatMs: 15_000, maxConnectionsPerIp: 50 })

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost')
  try {
    if (url.pathname === '/events') {
      // Topics from ?topic=; resumes from Last-Event-ID (or ?lastEventId=) with no gap and no duplicate.
      handleNode(hub, req, res) // answers a refusal (bad topic 400, limits 429/503) itself
      return
    }
    if (url.pathname === '/publish' && req.method === 'POST') {
      let body = ''
      for await (const chunk of req) {
        body += chunk
        if (body.length > 65_536) return void res.writeHead(413).end()
      }
      const id = await hub.publish(url.searchParams.getAll('topic'), { data: body })
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id }))
      return
    }
    res.writeHead(404).end()
  } catch (err) {
    // A LifelineError carries its HTTP answer: 400 bad_topic / bad_event, 503 draining or backend_unavailable.
    if (!(err instanceof LifelineError) || err.status >= 500) console.error(err)
    const status = err instanceof LifelineError ? err.status : 500
    if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(err instanceof LifelineError ? err : { error: 'internal_error' }))
  }
}).listen(Number(process.env.PORT ?? 8080), '127.0.0.1')

process.once('SIGTERM', async () => {
  server.close() // accept nothing new
  await hub.close() // every stream: a jittered retry hint and a clean end; then the process exits
})
