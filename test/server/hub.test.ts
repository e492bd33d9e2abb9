import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { handleNode } from '../../packages/lifeline-sse/src/adapters/node.ts'
import { EventStreamParser } from '../../packages/lifeline-sse/src/protocol/parse.ts'
import type {
  HistoryListener,
  ReadAfterResult,
} from '../../packages/lifeline-sse/src/server/history/history.ts'
import { MemoryHistory } from '../../packages/lifeline-sse/src/server/history/memory-history.ts'
import { createHub } from '../../packages/lifeline-sse/src/server/hub.ts'
import { resolveOptions, sweepIntervalMs } from '../../packages/lifeline-sse/src/server/hub-options.ts'
import type { CloseReason, StreamHandle } from '../../packages/lifeline-sse/src/server/types.ts'
import { MemorySink } from './memory-sink.ts'
import { openRaw } from './sse-client.ts'

function eventsOf(text: string): { type: string; data: string; id: string }[] {
  const out: { type: string; data: string; id: string }[] = []
  new EventStreamParser({ onEvent: (e) => out.push({ type: e.type, data: e.data, id: e.lastEventId }) }).push(
    text,
  )
  return out
}

const flushed = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** A real MemoryHistory whose readAfter waits for `openGate()`: a slow store (Redis, a disk). */
class GatedHistory extends MemoryHistory {
  #gate: Promise<void>
  openGate!: () => void
  listener: HistoryListener | undefined
  /** When true the snapshot is taken before the wait (events published meanwhile are not in it). */
  snapshotFirst = false

  constructor() {
    super()
    this.#gate = new Promise((resolve) => {
      this.openGate = resolve
    })
  }
  override async readAfter(
    afterId: string,
    match: (topics: readonly string[]) => boolean,
  ): Promise<ReadAfterResult> {
    if (this.snapshotFirst) {
      const snapshot = await super.readAfter(afterId, match)
      await this.#gate
      return snapshot
    }
    await this.#gate
    return super.readAfter(afterId, match)
  }
  override subscribe(listener: HistoryListener): () => void {
    this.listener = listener
    return super.subscribe(listener)
  }
}

test('the sweep period is at most 10% of the shortest enabled interval', () => {
  assert.equal(sweepIntervalMs(resolveOptions({})), 1_000)
  assert.equal(sweepIntervalMs(resolveOptions({ heartbeatMs: 2_000, writeTimeoutMs: 5_000 })), 200)
  assert.equal(sweepIntervalMs(resolveOptions({ heartbeatMs: 0, writeTimeoutMs: 0 })), 1_000)
  assert.ok(sweepIntervalMs(resolveOptions({ heartbeatMs: 15_000 })) <= 1_500)
})

test('a thousand streams share one timer', async () => {
  const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
  const hub = createHub({
    heartbeatMs: 1_000,
    idleTimeoutMs: 60_000,
    maxLifetimeMs: 60_000,
    writeTimeoutMs: 5_000,
  })
  const before = timers()
  for (let i = 0; i < 1_000; i++) assert.ok(hub.open(new MemorySink(), { topics: ['t'] }).ok)
  assert.ok(timers() - before <= 1, `${timers() - before} timers for 1000 streams`)
  await hub.close()
})

test('events published in one tick reach a connection in one transport write', async () => {
  const hub = createHub({ heartbeatMs: 0 })
  const sink = new MemorySink()
  hub.open(sink, { topics: ['t'] })
  const writesBefore = sink.writes.length
  const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => hub.publish('t', { data: String(i) })))
  await flushed()
  assert.equal(sink.writes.length - writesBefore, 1, 'one write for the 50 events of the tick')
  assert.deepEqual(
    eventsOf(sink.text).map((e) => e.id),
    ids,
  )
  await hub.close()
})

/** A transport whose every write costs `ms` of CPU (a flush to thousands of sockets, in one stream). */
class CostlySink extends MemorySink {
  readonly ms: number
  constructor(ms: number) {
    super()
    this.ms = ms
  }
  override write(chunk: Uint8Array): boolean {
    const until = performance.now() + this.ms
    while (performance.now() < until) {
      // Busy: the cost of the syscalls a real flush makes.
    }
    return super.write(chunk)
  }
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

test('a hub that keeps up writes each event right after the turn that published it', async () => {
  const hub = createHub({ heartbeatMs: 0 })
  const sink = new MemorySink()
  hub.open(sink, { topics: ['t'] })
  for (let i = 0; i < 10; i++) {
    await hub.publish('t', { data: `e${i}` })
    await flushed()
    assert.equal(eventsOf(sink.text).length, i + 1, `event ${i} written after its turn`)
  }
  await hub.close()
})

test('when flushes fall behind, events published one per turn share writes, in order, none lost', async () => {
  const hub = createHub({ heartbeatMs: 0 })
  const sink = new CostlySink(3)
  hub.open(sink, { topics: ['t'] })
  const writesBefore = sink.writes.length
  const ids: string[] = []
  for (let i = 0; i < 60; i++) {
    ids.push(await hub.publish('t', { data: `e${i}` }))
    await flushed()
  }
  await until(() => eventsOf(sink.text).length === 60, 'all 60 events')
  assert.deepEqual(
    eventsOf(sink.text).map((e) => e.id),
    ids,
  )
  const writes = sink.writes.length - writesBefore
  assert.ok(writes <= 40, `${writes} writes for 60 events published one per turn`)
  await hub.close()
})

test('a backed-up transport gets the events queued meanwhile in one write when it drains', async () => {
  const hub = createHub({ heartbeatMs: 0, writeTimeoutMs: 60_000 })
  const sink = new MemorySink()
  sink.backlog = 100
  const opened = hub.open(sink, { topics: ['t'] })
  assert.ok(opened.ok)
  const writesBefore = sink.writes.length
  const ids: string[] = []
  for (let i = 0; i < 5; i++) {
    ids.push(await hub.publish('t', { data: `e${i}` }))
    await flushed()
  }
  assert.equal(sink.writes.length, writesBefore, 'nothing more is written while the transport is backed up')
  assert.ok(opened.stream.info().bufferedBytes > 100, 'held events count as buffered')
  sink.backlog = 0
  sink.listener?.drained()
  await flushed()
  assert.equal(sink.writes.length - writesBefore, 1, 'one write for the five held events')
  assert.deepEqual(
    eventsOf(sink.text).map((e) => e.id),
    ids,
  )
  await hub.close()
})

test('events held for a backed-up transport count against maxBufferedBytes', async () => {
  const hub = createHub({ heartbeatMs: 0, writeTimeoutMs: 60_000, maxBufferedBytes: 1000 })
  const closed: CloseReason[] = []
  hub.on('close', (_info, reason) => closed.push(reason))
  const sink = new MemorySink()
  sink.backlog = 100
  hub.open(sink, { topics: ['t'] })
  for (let i = 0; i < 20 && closed.length === 0; i++) {
    await hub.publish('t', { data: 'x'.repeat(100) })
    await flushed()
  }
  assert.deepEqual(closed, ['buffer_overflow'])
  assert.ok(sink.destroyed)
  await hub.close()
})

test('the same encoded bytes go to every subscriber; a slow one never blocks the publish', async () => {
  const hub = createHub({ heartbeatMs: 0, writeTimeoutMs: 60_000, maxBufferedBytes: 1 << 30 })
  const slow = new MemorySink()
  slow.backlog = 10_000_000
  const fast = new MemorySink()
  hub.open(slow, { topics: ['t'] })
  hub.open(fast, { topics: ['t'] })
  for (let i = 0; i < 100; i++) await hub.publish('t', { data: `e${i}` })
  await flushed()
  assert.equal(eventsOf(fast.text).length, 100)
  assert.equal(hub.size, 2)
  await hub.close()
})

test('publish rejects bad topics, CR/LF in event names and the reserved lifeline: prefix', async () => {
  const hub = createHub()
  await assert.rejects(hub.publish('a b', { data: 'x' }), { code: 'LIFELINE_ERR_TOPIC_INVALID' })
  await assert.rejects(hub.publish([], { data: 'x' }), { code: 'LIFELINE_ERR_TOPIC_INVALID' })
  await assert.rejects(hub.publish('orders/*', { data: 'x' }), { code: 'LIFELINE_ERR_TOPIC_INVALID' })
  await assert.rejects(hub.publish('a', { data: 'x', event: 'a\nb' }), {
    code: 'LIFELINE_ERR_EVENT_NAME_INVALID',
  })
  await assert.rejects(hub.publish('a', { data: 'x', event: 'lifeline:reset' }), {
    code: 'LIFELINE_ERR_EVENT_NAME_RESERVED',
  })
  assert.equal(hub.stats().published, 0)
  await hub.close()
})

test('ids increase strictly in publish order and each publish reports publish-to-write once', async () => {
  const hub = createHub({ heartbeatMs: 0 })
  hub.open(new MemorySink(), { topics: ['t'] })
  const latencies: number[] = []
  hub.onPublishToWrite((s) => latencies.push(s))
  const ids: string[] = []
  for (let i = 0; i < 20; i++) ids.push(await hub.publish('t', { data: String(i) }))
  await flushed()
  for (let i = 1; i < ids.length; i++)
    assert.ok(hub.history.compare(ids[i - 1] as string, ids[i] as string) < 0)
  assert.equal(latencies.length, 20)
  assert.ok(latencies.every((s) => s >= 0 && s < 5))
  await hub.close()
})

for (const snapshotFirst of [false, true]) {
  test(`publishes during a slow replay are neither lost nor doubled (snapshot ${snapshotFirst ? 'before' : 'after'} the wait)`, async () => {
    const history = new GatedHistory()
    history.snapshotFirst = snapshotFirst
    const hub = createHub({ heartbeatMs: 0, history })
    const a = await hub.publish('t', { data: 'a' })
    const b = await hub.publish('t', { data: 'b' })
    const sink = new MemorySink()
    const opened = hub.open(sink, { topics: ['t'], lastEventId: a })
    assert.ok(opened.ok)
    assert.equal(opened.stream.info().state, 'replaying')
    const c = await hub.publish('t', { data: 'c' })
    await hub.publish('other', { data: 'not mine' })
    const d = await hub.publish('t', { data: 'd' })
    await flushed()
    assert.deepEqual(eventsOf(sink.text), [], 'nothing live before the replay')
    history.openGate()
    await flushed()
    const e = await hub.publish('t', { data: 'e' })
    await flushed()
    assert.deepEqual(
      eventsOf(sink.text).map((x) => x.id),
      [b, c, d, e],
    )
    assert.equal(opened.stream.info().state, 'open')
    await hub.close()
  })
}

test('malformed Last-Event-ID values reset with the id cut to 128 characters', async () => {
  const hub = createHub({ heartbeatMs: 0 })
  for (const [asked, shown] of [
    ['x'.repeat(5_000), 'x'.repeat(128)],
    ['caf\u00e9', 'caf\u00e9'],
    ['a\u0000b', 'a\u0000b'],
  ] as const) {
    const sink = new MemorySink()
    hub.open(sink, { topics: ['t'], lastEventId: asked })
    const [reset] = eventsOf(sink.text)
    assert.equal(reset?.type, 'lifeline:reset')
    assert.deepEqual(JSON.parse(reset?.data ?? ''), { reason: 'malformed', lastEventId: shown })
  }
  assert.equal(hub.stats().resets, 3)
  await hub.close()
})

test('a store that lost events sends lifeline:reset backend_lost to every open stream', async () => {
  const history = new GatedHistory()
  const hub = createHub({ heartbeatMs: 0, history })
  const sinks = [new MemorySink(), new MemorySink()]
  for (const s of sinks) hub.open(s, { topics: ['t'] })
  history.listener?.onReset?.('backend_lost')
  for (const s of sinks) {
    const events = eventsOf(s.text)
    assert.equal(events[0]?.type, 'lifeline:reset')
    assert.equal(JSON.parse(events[0]?.data ?? '').reason, 'backend_lost')
  }
  await hub.close()
})

test('a stream closes with token_expired when its credential expires', async (t) => {
  const hub = createHub({ heartbeatMs: 0 })
  const reasons: CloseReason[] = []
  hub.on('close', (_i, r) => reasons.push(r))
  const server = createServer((req, res) => handleNode(hub, req, res, { expiresAt: Date.now() + 400 }))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(async () => {
    await hub.close()
    server.closeAllConnections()
    server.close()
  })
  const stream = await openRaw(`http://127.0.0.1:${(server.address() as AddressInfo).port}/events?topic=t`)
  const end = await Promise.race([
    stream.ended,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('no close within 10 s')), 10_000).unref(),
    ),
  ])
  assert.equal(end.clean, true)
  assert.deepEqual(reasons, ['token_expired'])
  assert.equal(stream.retries.length, 2, 'a retry hint before the end')
})

test('the registry lists each stream with its stats, and counts per address', async () => {
  const hub = createHub({ heartbeatMs: 0, maxConnectionsPerIp: 2 })
  const opened: StreamHandle[] = []
  for (const addr of ['10.0.0.1', '10.0.0.1', '10.0.0.2']) {
    const r = hub.open(new MemorySink(), { topics: ['t', 'u/*'], remoteAddress: addr, userAgent: 'ua' })
    assert.ok(r.ok)
    opened.push(r.stream)
  }
  const third = hub.open(new MemorySink(), { topics: ['t'], remoteAddress: '10.0.0.1' })
  assert.equal(third.ok, false)
  await hub.publish('u/1', { data: 'x' })
  await flushed()
  const infos = hub.connections()
  assert.equal(infos.length, 3)
  for (const info of infos) {
    assert.deepEqual(info.topics, ['t', 'u/*'])
    assert.equal(info.eventsSent, 1)
    assert.equal(info.userAgent, 'ua')
    assert.equal(info.state, 'open')
    assert.ok(info.bytesSent > 0)
  }
  assert.equal(hub.topicCounts().get('u/*'), 3)
  opened[0]?.close('shutdown')
  assert.equal(hub.size, 2)
  assert.ok(
    hub.open(new MemorySink(), { topics: ['t'], remoteAddress: '10.0.0.1' }).ok,
    'a slot freed for the address',
  )
  const stats = hub.stats()
  assert.equal(stats.opened, 4)
  assert.equal(stats.closed.shutdown, 1)
  assert.equal(stats.rejected.max_connections_per_ip, 1)
  assert.equal(stats.delivered, 3)
  await hub.close()
})

test('close() waits for in-flight writes at most shutdownTimeoutMs, then abandons them', async () => {
  const hub = createHub({ heartbeatMs: 0, shutdownTimeoutMs: 300 })
  const stuck = new MemorySink()
  // A transport that never finishes flushing (a client that stopped reading during the drain).
  stuck.end = () => {
    stuck.ended = true
  }
  const fine = new MemorySink()
  hub.open(stuck, { topics: ['t'] })
  hub.open(fine, { topics: ['t'] })
  const started = performance.now()
  await hub.close()
  const took = performance.now() - started
  assert.ok(took >= 290, `close() returned after ${took.toFixed(0)} ms`)
  assert.equal(stuck.ended, true, 'it was asked to end cleanly first')
  assert.equal(stuck.destroyed, true, 'then abandoned at the deadline')
  assert.equal(fine.destroyed, false)
  assert.equal(hub.ready(), false)
  assert.equal(hub.size, 0)
})
