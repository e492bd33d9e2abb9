/**
 * A local node:http server whose answers a test scripts request by request, recording every request
 * (method, path, headers, body) so a test can assert what the client sent. Real TCP on 127.0.0.1.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RecordedRequest {
  /** 0 for the first request the server saw, then 1, 2, ... */
  index: number
  method: string
  path: string
  headers: IncomingMessage['headers']
  body: string
  req: IncomingMessage
  res: ServerResponse
}

export type Script = (request: RecordedRequest) => void | Promise<void>

export interface ScriptedServer {
  origin: string
  url(path?: string): string
  requests: RecordedRequest[]
  /** The next request not yet taken by this method, waiting for it up to `timeoutMs`. */
  nextRequest(timeoutMs?: number): Promise<RecordedRequest>
  close(): Promise<void>
}

export const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }

/** Start answering with the SSE headers and flush them, so the client sees `open` now. */
export function openStream(res: ServerResponse, headers: Record<string, string> = SSE_HEADERS): void {
  res.writeHead(200, headers)
  res.flushHeaders()
}

export async function startScriptedServer(script: Script): Promise<ScriptedServer> {
  const requests: RecordedRequest[] = []
  const waiters: Array<() => void> = []
  let taken = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const recorded: RecordedRequest = {
        index: requests.length,
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        req,
        res,
      }
      requests.push(recorded)
      for (const wake of waiters.splice(0)) wake()
      Promise.resolve(script(recorded)).catch((error: unknown) => {
        res.destroy(error instanceof Error ? error : new Error(String(error)))
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const origin = `http://127.0.0.1:${port}`
  return {
    origin,
    url: (path = '/') => origin + path,
    requests,
    async nextRequest(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs
      while (requests.length <= taken) {
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`no request #${taken} within ${timeoutMs} ms (saw ${requests.length})`)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left)
          waiters.push(() => {
            clearTimeout(timer)
            resolve()
          })
        })
      }
      return requests[taken++]!
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
