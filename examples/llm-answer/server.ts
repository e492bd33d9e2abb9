/**
 * An LLM-style answer that survives a reload: a producer appends tokens to a finite stream on the hub,
 * the browser page reads it over a native EventSource from the start, so a reload (or a second tab)
 * re-joins and shows the whole answer, and the stream's durable close stops every reader.
 *
 *   npx node -C lifeline-source examples/llm-answer/server.ts     then open http://127.0.0.1:3000/
 *   (http://127.0.0.1:3000/durable: the same page reading with @durable-streams/client)
 *
 * Two servers: the hub (the `lifeline serve` app, on :8080 or any free port) and this app (:3000), which
 * serves the page and plays the LLM: `POST /ask` starts an answer (a finite stream `answers/<id>` with
 * a 10-minute TTL, so a producer that dies leaves nothing forever), `POST /stop/<id>` asks the producer
 * to stop (it closes the stream: every reader gets `lifeline:end`). The producer appends one token per
 * request with the Durable Streams idempotent-producer headers, so a retried append is stored once.
 */
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createApp } from 'lifeline-hub'

const PAGE = readFileSync(new URL('./index.html', import.meta.url), 'utf8')
/** The same page reading through the Durable Streams endpoint with @durable-streams/client. */
const DURABLE_PAGE = readFileSync(new URL('./durable-client.html', import.meta.url), 'utf8')
/** What both pages share (buttons, the id in the URL, the view). */
const PAGE_SCRIPT = readFileSync(new URL('./page.js', import.meta.url), 'utf8')

/** @durable-streams/client bundled for the browser once, at start (esbuild, a dev dependency). */
async function bundleDurableClient(): Promise<string> {
  const esbuild = await import('esbuild')
  const out = await esbuild.build({
    stdin: { contents: "export { stream } from '@durable-streams/client'", resolveDir: process.cwd() },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  })
  return out.outputFiles[0]?.text ?? ''
}
/** The answer the fake model streams, one word per token. */
export const ANSWER =
  'Durable streams keep every token of an answer, so a reload mid-answer shows the whole text again, a second tab joins from the start, and the close tells every reader that the answer is complete.'

export interface Example {
  readonly hubUrl: string
  readonly appUrl: string
  close(): Promise<void>
}

export async function startExample(
  options: { hubPort?: number; appPort?: number; tokenMs?: number } = {},
): Promise<Example> {
  const tokenMs = options.tokenMs ?? 80
  const durableClient = await bundleDurableClient()
  const app = createServer()
  await new Promise<void>((resolve) => app.listen(options.appPort ?? 3000, '127.0.0.1', resolve))
  const appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`
  const hub = await createApp({
    port: options.hubPort ?? 8080,
    host: '127.0.0.1',
    logLevel: 'warn',
    corsOrigin: [appUrl],
  })
  const hubUrl = await hub.listen()
  const stopping = new Set<string>()
  const producers = new Set<Promise<void>>()

  const produce = async (id: string): Promise<void> => {
    const stream = `${hubUrl}/v1/stream/answers/${id}`
    const producer = { 'producer-id': `model-${id}`, 'producer-epoch': '0', 'content-type': 'text/plain' }
    const words = ANSWER.split(' ')
    for (let seq = 0; seq < words.length && !stopping.has(id); seq++) {
      await new Promise((r) => setTimeout(r, tokenMs))
      const token = seq === 0 ? (words[seq] as string) : ` ${words[seq]}`
      // A retry after a timeout would send the same (id, epoch, seq): stored once.
      await fetch(stream, {
        method: 'POST',
        headers: { ...producer, 'producer-seq': String(seq) },
        body: token,
      })
    }
    // The durable close: every reader, live or joining later, ends with lifeline:end.
    await fetch(stream, { method: 'POST', headers: { 'stream-closed': 'true' } })
    stopping.delete(id)
  }

  app.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', appUrl)
    if (req.method === 'GET' && url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end(PAGE.replace('__HUB__', hubUrl))
      return
    }
    if (req.method === 'GET' && url.pathname === '/durable') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end(DURABLE_PAGE.replace('__HUB__', hubUrl))
      return
    }
    if (req.method === 'GET' && url.pathname === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' })
      res.end(PAGE_SCRIPT)
      return
    }
    if (req.method === 'GET' && url.pathname === '/durable-client.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' })
      res.end(durableClient)
      return
    }
    if (req.method === 'POST' && url.pathname === '/ask') {
      const id = Math.random().toString(36).slice(2, 10)
      void fetch(`${hubUrl}/v1/stream/answers/${id}`, {
        method: 'PUT',
        headers: { 'content-type': 'text/plain', 'stream-ttl': '600' },
      }).then(() => {
        const run = produce(id)
        producers.add(run)
        void run.finally(() => producers.delete(run))
        res.writeHead(201, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ id }))
      })
      return
    }
    const stop = /^\/stop\/([a-z0-9]+)$/.exec(url.pathname)
    if (req.method === 'POST' && stop !== null) {
      stopping.add(stop[1] as string)
      res.writeHead(202)
      res.end()
      return
    }
    res.writeHead(404)
    res.end()
  })

  return {
    hubUrl,
    appUrl,
    async close() {
      for (const id of [...stopping]) stopping.add(id)
      await Promise.allSettled([...producers])
      await new Promise<void>((r) => (app as Server).close(() => r()))
      await hub.close()
    },
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const example = await startExample()
  console.log(`open ${example.appUrl}/  (hub: ${example.hubUrl})`)
}
