/**
 * One contract, every embedded store: the memory ring and the file store (node:sqlite) must behave the
 * same through the `History` interface the hub uses. The Redis backend can run this file's cases too.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { FileHistory } from '../../packages/lifeline-sse/src/server/history/file-history.ts'
import type { History, StoredEvent } from '../../packages/lifeline-sse/src/server/history/history.ts'
import { MemoryHistory } from '../../packages/lifeline-sse/src/server/history/memory-history.ts'
import type { RetentionOptions } from '../../packages/lifeline-sse/src/server/history/retention.ts'

const all = () => true

interface Store {
  name: string
  make(options?: RetentionOptions): History
}

const dir = mkdtempSync(join(tmpdir(), 'lifeline-history-'))
let files = 0
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))

const stores: Store[] = [
  { name: 'memory', make: (o) => new MemoryHistory(o) },
  { name: 'file', make: (o) => new FileHistory({ ...o, path: join(dir, `h${files++}.db`) }) },
]

async function appendN(h: History, n: number, topic = 'a'): Promise<StoredEvent[]> {
  const out: StoredEvent[] = []
  for (let i = 0; i < n; i++) out.push(await h.append([topic], { data: `d${i}` }))
  return out
}

function ids(r: Awaited<ReturnType<History['readAfter']>>): string[] {
  assert.equal(r.kind, 'events')
  return r.kind === 'events' ? r.events.map((e) => e.id) : []
}

for (const s of stores) {
  test(`${s.name}: ids strictly increase in the store's order`, async (t) => {
    const h = s.make()
    t.after(() => h.close())
    assert.equal(h.lastId(), undefined)
    const evs = await appendN(h, 25)
    for (let i = 1; i < evs.length; i++) {
      assert.ok(h.compare(evs[i - 1]!.id, evs[i]!.id) < 0, `${evs[i - 1]!.id} < ${evs[i]!.id}`)
      assert.ok(h.compare(evs[i]!.id, evs[i - 1]!.id) > 0)
    }
    assert.equal(h.compare(evs[3]!.id, evs[3]!.id), 0)
    assert.equal(h.lastId(), evs.at(-1)!.id)
    assert.equal(new Set(evs.map((e) => e.id)).size, evs.length)
    // Ids are safe as an SSE id field and a header value: printable ASCII, no spaces.
    for (const e of evs) assert.match(e.id, /^[!-~]{1,64}$/)
  })

  test(`${s.name}: append stores topics, event name, data and time`, async (t) => {
    let now = 1_000_000
    const h = s.make({ now: () => now })
    t.after(() => h.close())
    const first = await h.append(['x', 'y/z'], { data: 'line1\nline2', event: 'update' })
    now += 5
    await h.append(['x'], { data: 'ünïcode ✓' })
    assert.deepEqual([...first.topics], ['x', 'y/z'])
    assert.equal(first.event, 'update')
    assert.equal(first.data, 'line1\nline2')
    assert.equal(first.time, 1_000_000)
    const before = `${first.id.slice(0, first.id.lastIndexOf('-'))}-0`
    const r = await h.readAfter(before, all)
    assert.equal(r.kind, 'events')
    if (r.kind !== 'events') return
    assert.equal(r.events.length, 2)
    assert.deepEqual([...r.events[0]!.topics], ['x', 'y/z'])
    assert.equal(r.events[0]!.event, 'update')
    assert.equal(r.events[1]!.event, undefined)
    assert.equal(r.events[1]!.data, 'ünïcode ✓')
    assert.equal(r.events[1]!.time, 1_000_005)
    assert.equal(h.size(), 2)
  })

  test(`${s.name}: readAfter returns the matching events after the id, in order`, async (t) => {
    const h = s.make()
    t.after(() => h.close())
    const evs: StoredEvent[] = []
    for (let i = 0; i < 30; i++) evs.push(await h.append([i % 3 === 0 ? 'a' : 'b'], { data: String(i) }))
    assert.deepEqual(
      ids(await h.readAfter(evs[10]!.id, (ts) => ts.includes('a'))),
      evs
        .slice(11)
        .filter((_, i) => (i + 11) % 3 === 0)
        .map((e) => e.id),
    )
    assert.deepEqual(
      ids(await h.readAfter(evs[10]!.id, all)),
      evs.slice(11).map((e) => e.id),
    )
    // The newest id: nothing missed, nothing to send.
    assert.deepEqual(ids(await h.readAfter(evs.at(-1)!.id, all)), [])
  })

  test(`${s.name}: listeners get every event once, in id order, inside append`, async (t) => {
    const h = s.make()
    t.after(() => h.close())
    const seen: string[] = []
    const off = h.subscribe({ onEvent: (e) => seen.push(e.id) })
    const p = h.append(['a'], { data: '1' })
    // Synchronous: already delivered before append's promise settles.
    assert.equal(seen.length, 1)
    const e1 = await p
    const rest = await appendN(h, 5)
    assert.deepEqual(seen, [e1.id, ...rest.map((e) => e.id)])
    off()
    await h.append(['a'], { data: 'after' })
    assert.equal(seen.length, 6)
  })

  test(`${s.name}: an id from another store or run is unknown`, async (t) => {
    const other = s.make()
    const h = s.make()
    t.after(() => Promise.all([h.close(), other.close()]))
    const foreign = await other.append(['a'], { data: 'x' })
    await appendN(h, 3)
    assert.deepEqual(await h.readAfter(foreign.id, all), { kind: 'reset', reason: 'unknown' })
  })

  test(`${s.name}: syntactically wrong or future ids are unknown, never a crash`, async (t) => {
    const h = s.make()
    t.after(() => h.close())
    const [e] = await appendN(h, 1)
    const epoch = e!.id.slice(0, e!.id.lastIndexOf('-'))
    for (const bad of [
      '',
      '-',
      'garbage',
      `${epoch}`,
      `${epoch}-`,
      `${epoch}--1`,
      `${epoch}-01`,
      `${epoch}-1.5`,
      `${epoch}-1e3`,
      `${epoch}-99999999999999999999`,
      `${epoch}-2`,
      `${epoch}x-1`,
      `x${epoch}-1`,
      'a'.repeat(10_000),
      '\u0000\u0001\r\n',
      '∑-1',
    ]) {
      assert.deepEqual(await h.readAfter(bad, all), { kind: 'reset', reason: 'unknown' }, JSON.stringify(bad))
    }
  })

  test(`${s.name}: retention by count expires ids older than the oldest kept`, async (t) => {
    const h = s.make({ maxEvents: 5 })
    t.after(() => h.close())
    const evs = await appendN(h, 12)
    assert.equal(h.size(), 5)
    // evs[6] is the newest id before the oldest kept (evs[7]): nothing was missed.
    assert.deepEqual(
      ids(await h.readAfter(evs[6]!.id, all)),
      evs.slice(7).map((e) => e.id),
    )
    assert.deepEqual(await h.readAfter(evs[5]!.id, all), { kind: 'reset', reason: 'expired' })
    assert.deepEqual(await h.readAfter(evs[0]!.id, all), { kind: 'reset', reason: 'expired' })
    assert.equal(h.lastId(), evs.at(-1)!.id)
  })

  test(`${s.name}: retention by bytes drops the oldest first`, async (t) => {
    // Each event: 10 bytes of data + 1 byte of topic = 11 bytes.
    const h = s.make({ maxBytes: 50 })
    t.after(() => h.close())
    const evs: StoredEvent[] = []
    for (let i = 0; i < 10; i++) evs.push(await h.append(['a'], { data: String(i).padStart(10, '0') }))
    assert.equal(h.size(), 4)
    assert.deepEqual(
      ids(await h.readAfter(evs[5]!.id, all)),
      evs.slice(6).map((e) => e.id),
    )
    assert.deepEqual(await h.readAfter(evs[4]!.id, all), { kind: 'reset', reason: 'expired' })
    // One big event pushes out all the small ones.
    const big = await h.append(['a'], { data: 'x'.repeat(45) })
    assert.equal(h.size(), 1)
    assert.deepEqual(ids(await h.readAfter(evs.at(-1)!.id, all)), [big.id])
  })

  test(`${s.name}: retention by age trims lazily on read and append`, async (t) => {
    let now = 50_000
    const h = s.make({ ttlMs: 1000, now: () => now })
    t.after(() => h.close())
    const old = await appendN(h, 3)
    now += 600
    const young = await appendN(h, 2)
    now += 600 // the first three are now 1200 ms old, the last two 600 ms
    assert.deepEqual(await h.readAfter(old[0]!.id, all), { kind: 'reset', reason: 'expired' })
    assert.deepEqual(
      ids(await h.readAfter(old[2]!.id, all)),
      young.map((e) => e.id),
    )
    assert.equal(h.size(), 2)
    now += 2000
    const last = await h.append(['a'], { data: 'late' })
    assert.equal(h.size(), 1)
    assert.deepEqual(await h.readAfter(young[0]!.id, all), { kind: 'reset', reason: 'expired' })
    assert.deepEqual(ids(await h.readAfter(young[1]!.id, all)), [last.id])
  })

  test(`${s.name}: ttl 0 keeps events of any age`, async (t) => {
    let now = 0
    const h = s.make({ ttlMs: 0, now: () => now })
    t.after(() => h.close())
    const evs = await appendN(h, 3)
    now += 365 * 24 * 3_600_000
    assert.deepEqual(
      ids(await h.readAfter(evs[0]!.id, all)),
      evs.slice(1).map((e) => e.id),
    )
  })

  test(`${s.name}: ids are never reused after everything was trimmed`, async (t) => {
    let now = 0
    const h = s.make({ ttlMs: 10, now: () => now })
    t.after(() => h.close())
    const a = await appendN(h, 3)
    now += 100
    assert.deepEqual(await h.readAfter(a[0]!.id, all), { kind: 'reset', reason: 'expired' })
    assert.equal(h.size(), 0)
    // The newest id still resumes (nothing after it was lost).
    assert.deepEqual(ids(await h.readAfter(a[2]!.id, all)), [])
    const b = await appendN(h, 2)
    assert.ok(h.compare(a[2]!.id, b[0]!.id) < 0)
    assert.ok(!a.some((e) => b.some((f) => f.id === e.id)))
  })

  test(`${s.name}: maxEvents 0 keeps nothing but still assigns ids and feeds listeners`, async (t) => {
    const h = s.make({ maxEvents: 0 })
    t.after(() => h.close())
    let live = 0
    h.subscribe({ onEvent: () => live++ })
    const evs = await appendN(h, 3)
    assert.equal(h.size(), 0)
    assert.equal(live, 3)
    assert.deepEqual(await h.readAfter(evs[0]!.id, all), { kind: 'reset', reason: 'expired' })
    assert.deepEqual(ids(await h.readAfter(evs[2]!.id, all)), [])
  })

  test(`${s.name}: a ring that wraps many times keeps order`, async (t) => {
    const h = s.make({ maxEvents: 300 })
    t.after(() => h.close())
    const evs = await appendN(h, 1000)
    assert.deepEqual(
      ids(await h.readAfter(evs[849]!.id, all)),
      evs.slice(850).map((e) => e.id),
    )
    assert.deepEqual(await h.readAfter(evs[698]!.id, all), { kind: 'reset', reason: 'expired' })
    assert.equal(ids(await h.readAfter(evs[699]!.id, all)).length, 300)
  })
}

test('file: reopening keeps events, ids and the epoch', async () => {
  const path = join(dir, 'reopen.db')
  let h = new FileHistory({ path })
  const before = await appendN(h, 5)
  await h.close()
  h = new FileHistory({ path })
  try {
    assert.equal(h.size(), 5)
    assert.equal(h.lastId(), before.at(-1)!.id)
    assert.deepEqual(
      ids(await h.readAfter(before[1]!.id, all)),
      before.slice(2).map((e) => e.id),
    )
    const after = await appendN(h, 2)
    assert.ok(h.compare(before.at(-1)!.id, after[0]!.id) < 0)
    assert.deepEqual(
      ids(await h.readAfter(before[4]!.id, all)),
      after.map((e) => e.id),
    )
  } finally {
    await h.close()
  }
})

test('file: reopening with a smaller maxEvents trims at once', async () => {
  const path = join(dir, 'shrink.db')
  let h = new FileHistory({ path })
  const evs = await appendN(h, 10)
  await h.close()
  h = new FileHistory({ path, maxEvents: 3 })
  try {
    assert.equal(h.size(), 3)
    assert.deepEqual(await h.readAfter(evs[5]!.id, all), { kind: 'reset', reason: 'expired' })
    assert.deepEqual(
      ids(await h.readAfter(evs[6]!.id, all)),
      evs.slice(7).map((e) => e.id),
    )
  } finally {
    await h.close()
  }
})

test('memory: a new instance (a restart) does not know the previous ids', async () => {
  const a = new MemoryHistory()
  const e = await a.append(['a'], { data: '1' })
  const b = new MemoryHistory()
  await b.append(['a'], { data: '1' })
  assert.deepEqual(await b.readAfter(e.id, all), { kind: 'reset', reason: 'unknown' })
})
