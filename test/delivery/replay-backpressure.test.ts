/**
 * Replay under backpressure, over real sockets: a backlog larger than
 * `maxBufferedBytes` is streamed as the socket drains, so a client that reads gets every event in
 * order, events published during the replay follow it exactly, and only a client that does not read
 * is cut. Run over the memory ring, the file store and Redis Streams.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { createRedisHistory } from '../../packages/lifeline-sse/src/redis/index.ts'
import { FileHistory } from '../../packages/lifeline-sse/src/server/history/file-history.ts'
import type { History } from '../../packages/lifeline-sse/src/server/history/history.ts'
import { MemoryHistory } from '../../packages/lifeline-sse/src/server/history/memory-history.ts'
import { type RedisServer, startRedisServer } from '../helpers/redis-server.ts'
import { SseClient, startHub } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'lifeline-replay-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
let files = 0

let redis: RedisServer | undefined
before(async () => {
  redis = await startRedisServer()
})
after(() => redis?.stop())
let prefixes = 0

const stores: { name: string; make: () => History | Promise<History> }[] = [
  { name: 'memory', make: () => new MemoryHistory({ maxBytes: 128 * 1024 * 1024 }) },
  {
    name: 'file',
    make: () => new FileHistory({ path: join(dir, `replay${files++}.db`), maxBytes: 128 * 1024 * 1024 }),
  },
  {
    name: 'redis',
    make: () => createRedisHistory({ url: (redis as RedisServer).url, keyPrefix: `replay${prefixes++}:` }),
  },
]

/** `n` events of about `size` bytes each, distinct (the index leads the data). */
async function publishMany(
  publish: (data: string) => Promise<string>,
  n: number,
  size: number,
): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < n; i++) ids.push(await publish(`${i}:${'x'.repeat(size)}`))
  return ids
}

/** Opens a stream with raw TCP and never reads from it. */
function stalledClient(url: string, lastEventId: string): Promise<Socket> {
  const { port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port) }, () => {
      socket.write(
        `GET /events?topic=feed HTTP/1.1\r\nHost: 127.0.0.1\r\nLast-Event-ID: ${lastEventId}\r\n\r\n`,
      )
      socket.pause()
      resolve(socket)
    })
    socket.on('error', reject)
  })
}

for (const s of stores) {
  for (const [n, size] of [
    [30, 50_000],
    [2, 512 * 1024],
  ] as const) {
    test(`${s.name} store: a backlog of ${n} x ${size} bytes (over maxBufferedBytes) is replayed in full, in order`, async (t) => {
      const h = await startHub({ history: await s.make() })
      t.after(() => h.close())
      const first = await h.hub.publish('feed', { data: 'first' })
      const ids = await publishMany((data) => h.hub.publish('feed', { data }), n, size)
      const c = new SseClient(h.url, ['feed'], { lastEventId: first })
      t.after(() => c.close())
      await c.waitForCount(n, 20_000)
      assert.deepEqual(
        c.events.map((e) => e.id),
        ids,
      )
      assert.ok(c.events.every((e, i) => e.data.startsWith(`${i}:`)))
      assert.equal(h.hub.stats().closed.buffer_overflow, 0)
    })
  }

  test(`${s.name} store: a reading client with 10 MB of backlog gets every event in order, then what was published during the replay`, async (t) => {
    const h = await startHub({ history: await s.make() })
    t.after(() => h.close())
    const first = await h.hub.publish('feed', { data: 'first' })
    // Another topic interleaved: the replay filters it out page by page.
    const backlog: string[] = []
    for (let i = 0; i < 100; i++) {
      backlog.push(await h.hub.publish('feed', { data: `${i}:${'y'.repeat(100_000)}` }))
      await h.hub.publish('other', { data: 'z'.repeat(10_000) })
    }
    const c = new SseClient(h.url, ['feed'], { lastEventId: first })
    t.after(() => c.close())
    await c.waitForCount(1, 20_000)
    // Published while the replay streams: held, then delivered after the backlog, exactly once.
    const live: string[] = []
    for (let i = 0; i < 50; i++) live.push(await h.hub.publish('feed', { data: `live ${i}` }))
    await c.waitForCount(150, 30_000)
    assert.deepEqual(
      c.events.map((e) => e.id),
      [...backlog, ...live],
    )
    const after = await h.hub.publish('feed', { data: 'after' })
    await c.waitFor((e) => e.at(-1)?.id === after, 'the event after the replay')
    assert.equal(c.events.length, 151)
    // Events published during the replay are read from history when the pages reach them, or held.
    assert.ok(h.hub.stats().replayed >= 100)
  })

  test(`${s.name} store: a resuming client that does not read is cut by the write timeout, and holds at most one event beyond the socket`, async (t) => {
    const h = await startHub({ history: await s.make(), writeTimeoutMs: 1_500 })
    t.after(() => h.close())
    const first = await h.hub.publish('feed', { data: 'first' })
    await publishMany((data) => h.hub.publish('feed', { data }), 40, 500_000)
    const socket = await stalledClient(h.url, first)
    t.after(() => socket.destroy())
    let most = 0
    const deadline = Date.now() + 15_000
    while (h.hub.stats().closed.write_timeout === 0) {
      assert.equal(h.hub.stats().closed.buffer_overflow, 0, 'not cut at once for its backlog')
      assert.ok(Date.now() < deadline, 'the stalled client was cut within 15 s')
      for (const info of h.hub.connections()) most = Math.max(most, info.bufferedBytes)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.equal(h.hub.stats().closed.buffer_overflow, 0)
    // Paced: a replayed event is written only while the socket is below its high-water mark.
    assert.ok(most <= 500_100 + 64 * 1024, `buffered at most one event beyond the socket, saw ${most}`)
  })
}
