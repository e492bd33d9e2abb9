/**
 * lifeline-sse/server over HTTP/2 (node:http2 compat API, through the node adapter). Streams end
 * with END_STREAM; no `Connection` header is sent (HTTP/2 forbids it).
 *   openssl req -x509 -newkey rsa:2048 -nodes -keyout /tmp/key.pem -out /tmp/cert.pem -subj /CN=localhost -days 1
 *   node examples/http2.ts /tmp/key.pem /tmp/cert.pem      (PORT=8443 by default)
 *   curl -kN --http2 'https://127.0.0.1:8443/events?topic=news'
 */
import { readFileSync } from 'node:fs'
import { createSecureServer } from 'node:http2'
import { createHub, handleNode } from 'lifeline-sse/server'

const [keyFile = '/tmp/key.pem', certFile = '/tmp/cert.pem'] = process.argv.slice(2)
const hub = createHub()
const server = createSecureServer({
  key: readFileSync(keyFile),
  cert: readFileSync(certFile),
  allowHTTP1: true,
})

server.on('request', (req, res) => {
  if (req.url?.startsWith('/events')) handleNode(hub, req, res)
  else res.writeHead(404).end()
})

setInterval(() => void hub.publish('news', { data: new Date().toISOString() }), 1_000).unref()
const port = Number(process.env.PORT ?? 8443)
server.listen(port, '127.0.0.1', () => console.log(`listening on https://127.0.0.1:${port}`))

process.once('SIGTERM', async () => {
  server.close()
  await hub.close() // HTTP/2 streams end with END_STREAM after their retry hint
})
