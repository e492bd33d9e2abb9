/**
 * Reads a hub process's V8 heap after a full garbage collection, through the Node inspector it was
 * started with (`NODE_OPTIONS=--inspect=127.0.0.1:<port>`, see `inspectorNodeOptions`). A heap read
 * without a collection counts garbage V8 has not yet swept, and RSS counts pages the allocator keeps:
 * neither tells retained objects from memory not yet returned. The heap after a collection does.
 */

/** NODE_OPTIONS for a child that listens for the inspector on 127.0.0.1:`port` (kept: the caller's own options). */
export function inspectorNodeOptions(port: number, current = process.env.NODE_OPTIONS): string {
  return `${current ? `${current} ` : ''}--inspect=127.0.0.1:${port}`
}

/** Collects garbage in the process whose inspector listens on `port`, then returns its heap in use, in bytes. */
export async function heapAfterGc(port: number): Promise<number> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    webSocketDebuggerUrl: string
  }[]
  const target = targets[0]
  if (!target) throw new Error(`no inspector target on port ${port}`)
  const ws = new WebSocket(target.webSocketDebuggerUrl)
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true })
    ws.addEventListener('error', () => reject(new Error('inspector connection failed')), { once: true })
  })
  let nextId = 0
  const call = (method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> => {
    const id = ++nextId
    return new Promise((resolve, reject) => {
      const onMessage = (event: MessageEvent) => {
        const msg = JSON.parse(String(event.data)) as {
          id?: number
          result?: Record<string, unknown>
          error?: unknown
        }
        if (msg.id !== id) return
        ws.removeEventListener('message', onMessage)
        if (msg.error) reject(new Error(`${method}: ${JSON.stringify(msg.error)}`))
        else resolve(msg.result ?? {})
      }
      ws.addEventListener('message', onMessage)
      ws.send(JSON.stringify({ id, method, params }))
    })
  }
  try {
    // Two collections: the first may only queue finalizers and weak callbacks that free more.
    await call('HeapProfiler.collectGarbage')
    await call('HeapProfiler.collectGarbage')
    const { usedSize } = (await call('Runtime.getHeapUsage')) as { usedSize: number }
    return usedSize
  } finally {
    ws.close()
  }
}
