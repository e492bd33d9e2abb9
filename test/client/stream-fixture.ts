/**
 * Serve a scripted stream once, read it with a client, and return what the client dispatched. The
 * second request is answered 204, which fails the client for good, so every read ends deterministically.
 */
import {
  LifelineEventSource,
  type LifelineEventSourceInit,
} from '../../packages/lifeline-sse/src/client/index.ts'
import { Collector, type Seen } from './collect.ts'
import { openStream, type RecordedRequest, startScriptedServer } from './scripted-server.ts'

export interface ReadResult {
  seen: Seen[]
  messages: Seen[]
  requests: RecordedRequest[]
  source: LifelineEventSource
}

export interface ReadOptions {
  /** Chunks written in order (each flushed on its own). */
  chunks: Array<string | Uint8Array>
  /** Response headers of the stream. */
  headers?: Record<string, string>
  /** Event types to record besides open, message, error and statechange. */
  types?: string[]
  init?: LifelineEventSourceInit
}

export async function readOnce(options: ReadOptions): Promise<ReadResult> {
  const server = await startScriptedServer(async ({ index, res }) => {
    if (index > 0) {
      res.writeHead(204).end()
      return
    }
    openStream(res, options.headers)
    for (const chunk of options.chunks) {
      await new Promise<void>((resolve) => res.write(chunk, () => resolve()))
    }
    res.end()
  })
  const source = new LifelineEventSource(server.url('/stream'), {
    retry: { initialDelay: 1 },
    ...options.init,
  })
  const extra = options.types ?? []
  const collector = new Collector(source, ['open', 'message', 'error', 'statechange', ...extra])
  try {
    await collector.until(
      (seen) => seen.some((e) => e.type === 'error' && e.readyState === 2),
      'the final error',
    )
  } finally {
    source.close()
    await server.close()
  }
  const messageTypes = new Set(['message', ...extra])
  return {
    seen: collector.seen,
    messages: collector.seen.filter((e) => messageTypes.has(e.type)),
    requests: server.requests,
    source,
  }
}

/** The data of every `message`-typed event, in order. */
export async function readData(
  chunks: Array<string | Uint8Array>,
  headers?: Record<string, string>,
): Promise<string[]> {
  const result = await readOnce({ chunks, ...(headers === undefined ? {} : { headers }) })
  return result.messages.map((e) => e.data ?? '')
}
