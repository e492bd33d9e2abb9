/**
 * Loading and using the socket tuning must not stall the event loop, however many sockets are open
 * (a regression seen with 1000 sockets): `net-keepalive` loads `ffi-rs`, whose libc check called
 * `process.report.getReport()`, synchronous and resolving the peer name of every open socket (minutes
 * with 1000 sockets from 200 addresses). Sockets come from 127.0.x.y, 200 source addresses.
 *
 * The adapters are imported dynamically, after the sockets are open: the first test loads the tuning
 * in the worst case (many sockets already open), the second opens the first stream of a hub then.
 */
import assert from 'node:assert/strict'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { test } from 'node:test'

const SOCKETS = 1000
const ADDRESSES = 200

async function openSockets(port: number, into: Socket[]): Promise<void> {
  for (let i = 0; i < SOCKETS; i += 50) {
    const batch: Promise<Socket>[] = []
    for (let j = i; j < i + 50; j++) {
      const n = (j % ADDRESSES) + 2
      const localAddress = `127.0.${Math.floor(n / 250) + 1}.${(n % 250) + 1}`
      batch.push(
        new Promise((resolve, reject) => {
          const s = connect({ host: '127.0.0.1', port, localAddress }, () => resolve(s))
          s.once('error', reject)
        }),
      )
    }
    into.push(...(await Promise.all(batch)))
  }
}

/** Event-loop delay (ms) while `work` runs and for 300 ms after. */
async function delayDuring(work: () => Promise<unknown>): Promise<{ p99: number; max: number }> {
  const delay = monitorEventLoopDelay({ resolution: 2 })
  delay.enable()
  await work()
  await new Promise((resolve) => setTimeout(resolve, 300))
  delay.disable()
  return { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 }
}

test('loading the socket tuning with 1000 open sockets from 200 addresses: event-loop delay p99 < 50 ms', async (t) => {
  const server: Server = createServer(() => {})
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const sockets: Socket[] = []
  t.after(() => {
    for (const s of sockets) s.destroy()
    server.close()
  })
  await openSockets((server.address() as { port: number }).port, sockets)
  const { p99, max } = await delayDuring(async () => {
    const { userTimeoutSupported } = await import('../../packages/lifeline-sse/src/adapters/socket-tuning.ts')
    await userTimeoutSupported()
  })
  t.diagnostic(`event-loop delay p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms`)
  assert.ok(p99 < 50, `p99 ${p99.toFixed(1)} ms`)
  // One stall would be a single sample: bound it too, generously (the machine is shared).
  assert.ok(max < 500, `max ${max.toFixed(1)} ms`)
})

test('the first stream of a hub with 1000 open sockets from 200 addresses: event-loop delay p99 < 50 ms', async (t) => {
  const { SseClient, startHub, waitForStreams } = await import('../delivery/helpers.ts')
  const h = await startHub()
  t.after(() => h.close())
  const sockets: Socket[] = []
  t.after(() => {
    for (const s of sockets) s.destroy()
  })
  await openSockets(Number(new URL(h.url).port), sockets)
  const c = new SseClient(h.url, ['a'])
  t.after(() => c.close())
  const { p99, max } = await delayDuring(async () => {
    await c.opened()
    await waitForStreams(h.hub, 1)
  })
  t.diagnostic(`event-loop delay p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms`)
  assert.ok(p99 < 50, `p99 ${p99.toFixed(1)} ms`)
  assert.ok(max < 500, `max ${max.toFixed(1)} ms`)
})
