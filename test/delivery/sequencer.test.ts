/**
 * The library's way to run hubs over several processes or threads: one `Sequencer` over the store,
 * a `RemoteHistory` per hub, linked by real `worker_threads` MessagePorts (structured clone, ordered,
 * asynchronous, as between processes). The process-level behaviour (`lifeline serve --workers`) is
 * test/hub/workers.test.ts.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import type { StoredEvent } from '../../packages/lifeline-sse/src/server/history/history.ts'
import { MemoryHistory } from '../../packages/lifeline-sse/src/server/history/memory-history.ts'
import { RemoteHistory } from '../../packages/lifeline-sse/src/server/history/remote-history.ts'
import {
  Sequencer,
  type SequencerLink,
  type SequencerReply,
  type SequencerRequest,
} from '../../packages/lifeline-sse/src/server/history/sequencer.ts'

function link<Out, In>(port: MessagePort): SequencerLink<Out, In> {
  return {
    send: (m) => port.postMessage(m),
    onMessage: (f) => {
      const l = (m: In) => f(m)
      port.on('message', l)
      return () => port.off('message', l)
    },
  }
}

async function twoHubs(store = new MemoryHistory()) {
  const sequencer = new Sequencer(store)
  const ports: MessagePort[] = []
  const hubs: RemoteHistory[] = []
  for (let i = 0; i < 2; i++) {
    const { port1, port2 } = new MessageChannel()
    ports.push(port1, port2)
    sequencer.attach(link<SequencerReply, SequencerRequest>(port1))
    hubs.push(await RemoteHistory.connect(link<SequencerRequest, SequencerReply>(port2)))
  }
  const close = async () => {
    sequencer.close()
    for (const h of hubs) await h.close()
    for (const p of ports) p.close()
    await store.close()
  }
  return { store, hubs: hubs as [RemoteHistory, RemoteHistory], close }
}

function feed(h: RemoteHistory): StoredEvent[] {
  const got: StoredEvent[] = []
  h.subscribe({ onEvent: (e) => got.push(e) })
  return got
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

test('appends from two hubs get ids in one order, and both feeds report every event in that order', async (t) => {
  const { hubs, close } = await twoHubs()
  t.after(close)
  const [a, b] = hubs
  const seenA = feed(a)
  const seenB = feed(b)
  const acks = await Promise.all(
    Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).append(['x'], { data: `d${i}` })),
  )
  const ids = acks.map((e) => e.id)
  assert.equal(new Set(ids).size, 40, 'no id twice')
  await until(() => seenA.length === 40 && seenB.length === 40, 'both feeds')
  assert.deepEqual(
    seenA.map((e) => e.id),
    seenB.map((e) => e.id),
  )
  for (let i = 1; i < seenA.length; i++) assert.ok(a.compare(seenA[i - 1]!.id, seenA[i]!.id) < 0)
  assert.equal(a.lastId(), seenA.at(-1)!.id)
  assert.equal(b.size(), 40)
})

test('a hub replays what another appended, filtered by its own topics; unknown ids reset', async (t) => {
  const { hubs, close } = await twoHubs()
  t.after(close)
  const [a, b] = hubs
  const first = await a.append(['x'], { data: '1' })
  await a.append(['y'], { data: '2' })
  await a.append(['x'], { data: '3', event: 'named' })
  const r = await b.readAfter(first.id, (topics) => topics.includes('x'))
  assert.equal(r.kind, 'events')
  if (r.kind !== 'events') return
  assert.deepEqual(
    r.events.map((e) => [e.data, e.event]),
    [['3', 'named']],
  )
  assert.deepEqual(await b.readAfter('nope-1', () => true), { kind: 'reset', reason: 'unknown' })
})

test('a hub that joins later starts from the newest id and misses nothing after it', async (t) => {
  const store = new MemoryHistory()
  const sequencer = new Sequencer(store)
  const early = await store.append(['x'], { data: 'before' })
  const { port1, port2 } = new MessageChannel()
  t.after(() => {
    sequencer.close()
    port1.close()
  })
  sequencer.attach(link<SequencerReply, SequencerRequest>(port1))
  const late = await RemoteHistory.connect(link<SequencerRequest, SequencerReply>(port2))
  assert.equal(late.lastId(), early.id)
  const seen = feed(late)
  const next = await store.append(['x'], { data: 'after' })
  await until(() => seen.length === 1, 'the next event')
  assert.equal(seen[0]!.id, next.id)
})

test('when the link goes away, appends reject as backend_unavailable and nothing is acknowledged', async (t) => {
  const { hubs, store, close } = await twoHubs()
  t.after(close)
  const [a] = hubs
  a.disconnect()
  assert.equal(a.ready(), false)
  await assert.rejects(a.append(['x'], { data: 'lost' }), { code: 'LIFELINE_ERR_BACKEND_UNAVAILABLE' })
  assert.equal(store.size(), 0)
})
