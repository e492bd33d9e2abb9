/**
 * lifeline-sse/server on plain node:http.
 *   npx node examples/node-http.ts
 *   curl -N 'http://127.0.0.1:8080/events?topic=news'
 *   curl -X POST 'http://127.0.0.1:8080/publish?topic=news' -d 'hello'
 */
import { createServer } from 'node:http'
import { createHub, handleNode } from 'lifeline-sse/server'

const hub = createHub({ heartbeatMs: 15_000 })

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost')
  if (req.method === 'GET' && url.pathname === '/events') {
    // Topics come from ?topic=; the Last-Event-ID header (or ?lastEventId=) resumes.
    const stream = handleNode(hub, req, res)
    stream?.signal.addEventListener('abort', () =>
      console.log(`stream ${stream.id} closed: ${stream.signal.reason}`),
    )
    return
  }
  if (req.method === 'POST' && url.pathname === '/publish') {
    let body = ''
    for await (const chunk of req) body += chunk
    const id = await hub.publish(url.searchParams.getAll('topic'), { data: body })
    res.writeHead(201, { 'Content-Type': 'application/json' }).end(JSON.stringify({ id }))
    return
  }
  res.writeHead(404).end()
})

server.listen(8080, '127.0.0.1', () => console.log('listening on http://127.0.0.1:8080'))

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    // Drain: every stream gets a jittered retry and a clean end, then the server stops.
    await hub.close()
    server.close()
  })
}
