/**
 * One test body for every `History` (the port the hub reads and writes history through): each store's
 * test file calls `historyContract` with a factory, as history-memory.test.ts, history-file.test.ts,
 * history-remote.test.ts (a RemoteHistory over a Sequencer) and history-redis.test.ts (a real
 * redis-server) do. A case a store cannot meet by design is skipped with the reason, by a declared
 * capability, never silently: Redis trims approximately and on its own clock, and its ids carry no
 * epoch.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { LifelineError } from '../../packages/lifeline-sse/src/protocol/errors.ts'
import type {
  History,
  HistoryErrorHandler,
  ReadAfterResult,
  StoredEvent,
} from '../../packages/lifeline-sse/src/server/history/history.ts'
import type { RetentionOptions } from '../../packages/lifeline-sse/src/server/history/retention.ts'

export interface ContractOptions extends RetentionOptions {
  onError?: HistoryErrorHandler
}

export interface HistoryBackend {
  readonly name: string
  /** A fresh, empty store of its own (its own file, stream or sequencer), connected and ready. */
  make(options?: ContractOptions): Promise<History>
  /**
   * Retention follows the options exactly: `maxEvents` and `maxBytes` to the event, `ttlMs` and
   * `StoredEvent.time` on the injected `now`.
   */
  readonly exactRetention: boolean
  /** Listeners run inside `append`, before its promise settles (in-process stores). */
  readonly deliversInsideAppend: boolean
  /** Ids carry the store's epoch: an id of another store is unknown even when older than ours. */
  readonly epochIds: boolean
}

const DEADLINE_MS = 10_000
const all = () => true

/** A store with a recorder on its live feed: what it delivered, and a wait (with a deadline) for an id. */
interface Fed {
  readonly h: History
  readonly seen: StoredEvent[]
  delivered(id: string): Promise<void>
}

function feed(h: History): Fed {
  const seen: StoredEvent[] = []
  const waiters = new Map<string, () => void>()
  h.subscribe({
    onEvent(event) {
      seen.push(event)
      waiters.get(event.id)?.()
    },
  })
  return {
    h,
    seen,
    delivered(id) {
      if (seen.some((e) => e.id === id)) return Promise.resolve()
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(id)
          reject(new Error(`the feed did not deliver ${id} within ${DEADLINE_MS} ms (saw ${seen.length})`))
        }, DEADLINE_MS)
        waiters.set(id, () => {
          clearTimeout(timer)
          waiters.delete(id)
          resolve()
        })
      })
    },
  }
}

/** Appends one by one, then waits until the feed delivered the last: a replay then reaches all of them. */
async function appendN(f: Fed, n: number, topic = 'a'): Promise<StoredEvent[]> {
  const out: StoredEvent[] = []
  for (let i = 0; i < n; i++) out.push(await f.h.append([topic], { data: `d${i}` }))
  if (out.length > 0) await f.delivered(out.at(-1)!.id)
  return out
}

function ids(r: ReadAfterResult): string[] {
  assert.equal(r.kind, 'events', JSON.stringify(r))
  return r.kind === 'events' ? r.events.map((e) => e.id) : []
}

const UNKNOWN = { kind: 'reset', reason: 'unknown' }
const EXPIRED = { kind: 'reset', reason: 'expired' }

export function historyContract(b: HistoryBackend): void {
  const name = (s: string) => `${b.name}: ${s}`
  const exact = b.exactRetention
    ? {}
    : { skip: `${b.name} does not trim exactly by the options on the injected clock (see its test file)` }

  /** A fresh store with a recorder, closed after the test. */
  async function open(t: { after(fn: () => unknown): void }, options?: ContractOptions): Promise<Fed> {
    const h = await b.make(options)
    t.after(() => h.close())
    return feed(h)
  }

  test(name('ids strictly increase, are printable ASCII, and lastId is the newest delivered'), async (t) => {
    const f = await open(t)
    const { h } = f
    assert.equal(h.lastId(), undefined)
    assert.equal(h.ready(), true)
    const evs = await appendN(f, 25)
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

  test(name('append stores topics, event name, data and time; readAfter gives them back'), async (t) => {
    let now = 1_000_000
    const f = await open(t, { now: () => now })
    const { h } = f
    const before = Date.now()
    const marker = await h.append(['m'], { data: 'marker' })
    const first = await h.append(['x', 'y/z'], { data: 'line1\nline2', event: 'update' })
    now += 5
    const second = await h.append(['x'], { data: 'ünïcode ✓' })
    await f.delivered(second.id)
    const after = Date.now()
    assert.deepEqual([...first.topics], ['x', 'y/z'])
    assert.equal(first.event, 'update')
    assert.equal(first.data, 'line1\nline2')
    const r = await h.readAfter(marker.id, all)
    assert.equal(r.kind, 'events')
    if (r.kind !== 'events') return
    assert.deepEqual(
      r.events.map((e) => e.id),
      [first.id, second.id],
    )
    assert.deepEqual([...r.events[0]!.topics], ['x', 'y/z'])
    assert.equal(r.events[0]!.event, 'update')
    assert.equal(r.events[0]!.data, 'line1\nline2')
    assert.equal(r.events[1]!.event, undefined)
    assert.equal(r.events[1]!.data, 'ünïcode ✓')
    for (const [stored, read] of [
      [first, r.events[0]!],
      [second, r.events[1]!],
    ] as const) {
      assert.equal(read.time, stored.time, 'append and readAfter report one time')
    }
    if (b.exactRetention) {
      assert.equal(first.time, 1_000_000)
      assert.equal(second.time, 1_000_005)
    } else {
      // The store's own clock: the wall clock of this machine, within generous bounds.
      for (const e of [first, second])
        assert.ok(e.time >= before - 1_000 && e.time <= after + 1_000, `${e.time}`)
    }
    assert.equal(h.size(), 3)
  })

  test(name('readAfter returns the matching events after the id, in order'), async (t) => {
    const f = await open(t)
    const { h } = f
    const evs: StoredEvent[] = []
    for (let i = 0; i < 30; i++) evs.push(await h.append([i % 3 === 0 ? 'a' : 'b'], { data: String(i) }))
    await f.delivered(evs.at(-1)!.id)
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

  test(name('paged reads, followed by next, give every matching event once, in order'), async (t) => {
    const f = await open(t)
    const { h } = f
    const marker = (await appendN(f, 1))[0]!
    const evs: StoredEvent[] = []
    for (let i = 0; i < 20; i++) evs.push(await h.append([i % 2 === 0 ? 'a' : 'b'], { data: `p${i}` }))
    await f.delivered(evs.at(-1)!.id)
    const wanted = evs.filter((_, i) => i % 2 === 0).map((e) => e.id)
    for (const page of [
      { maxEvents: 3, maxBytes: 1 << 30 },
      { maxEvents: 1_000, maxBytes: 1 },
    ]) {
      const got: string[] = []
      let cursor = marker.id
      for (let reads = 0; ; reads++) {
        assert.ok(reads <= evs.length, `paging ends (${JSON.stringify(page)})`)
        const r = await h.readAfter(cursor, (ts) => ts.includes('a'), page)
        got.push(...ids(r))
        if (r.kind !== 'events' || r.next === undefined) break
        assert.ok(r.events.length <= page.maxEvents)
        assert.ok(h.compare(r.next, cursor) > 0, 'each page moves on')
        cursor = r.next
      }
      assert.deepEqual(got, wanted, JSON.stringify(page))
    }
  })

  test(name('listeners get every event once, in id order; an unsubscribed one gets no more'), async (t) => {
    const f = await open(t)
    const { h } = f
    const seen: string[] = []
    const off = h.subscribe({ onEvent: (e) => seen.push(e.id) })
    const evs = await appendN(f, 6)
    assert.deepEqual(
      seen,
      evs.map((e) => e.id),
    )
    off()
    const [late] = await appendN(f, 1)
    // The recorder got it, so the store did deliver it: the removed listener was skipped.
    assert.ok(f.seen.some((e) => e.id === late!.id))
    assert.equal(seen.length, 6)
  })

  test(
    name('listeners run inside append, before its promise settles'),
    b.deliversInsideAppend ? {} : { skip: `${b.name} delivers once the event comes back on its feed` },
    async (t) => {
      const f = await open(t)
      const p = f.h.append(['a'], { data: '1' })
      assert.equal(f.seen.length, 1)
      assert.equal((await p).id, f.seen[0]!.id)
    },
  )

  test(
    name('a throwing listener fails neither append nor the listeners after it; onError hears of it'),
    async (t) => {
      const errors: Error[] = []
      const thrown = new Error('listener bug')
      const h = await b.make({ onError: (e) => errors.push(e) })
      t.after(() => h.close())
      h.subscribe({
        onEvent() {
          throw thrown
        },
      })
      const f = feed(h)
      const stored = await h.append(['a'], { data: 'x' })
      await f.delivered(stored.id)
      assert.deepEqual(
        f.seen.map((e) => e.id),
        [stored.id],
      )
      assert.equal(errors.length, 1)
      assert.ok(errors[0] instanceof Error)
      assert.match(errors[0].message, new RegExp(`listener threw on event ${stored.id}`))
      assert.equal(errors[0].cause, thrown)
      // The event is stored: it replays like any other.
      const [next] = await appendN(f, 1)
      assert.deepEqual(ids(await h.readAfter(stored.id, all)), [next!.id])
    },
  )

  test(name('an id newer than any this store assigned (from another store) is unknown'), async (t) => {
    const f = await open(t)
    const other = await open(t)
    await appendN(f, 3)
    // Stream ids start with the ms of the append: let the clock pass ours, so the other store's id is
    // newer for a store without epochs too (Redis).
    await sleep(5)
    const [foreign] = await appendN(other, 1)
    assert.deepEqual(await f.h.readAfter(foreign!.id, all), UNKNOWN)
  })

  test(
    name('an id of another store or run is unknown even when older than ours'),
    b.epochIds ? {} : { skip: `${b.name} ids carry no epoch: an older foreign id reads as a position` },
    async (t) => {
      const other = await open(t)
      const f = await open(t)
      const [foreign] = await appendN(other, 1)
      await appendN(f, 3)
      assert.deepEqual(await f.h.readAfter(foreign!.id, all), UNKNOWN)
    },
  )

  test(name('syntactically wrong or future ids are unknown, never a crash'), async (t) => {
    const f = await open(t)
    const [e] = await appendN(f, 1)
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
      assert.deepEqual(await f.h.readAfter(bad, all), UNKNOWN, JSON.stringify(bad))
    }
  })

  test(name('append after close rejects with LIFELINE_ERR_BACKEND_UNAVAILABLE'), async () => {
    const h = await b.make()
    await h.append(['a'], { data: 'before' })
    await h.close()
    await assert.rejects(h.append(['a'], { data: 'after' }), (error: unknown) => {
      assert.ok(error instanceof LifelineError, String(error))
      assert.equal(error.code, 'LIFELINE_ERR_BACKEND_UNAVAILABLE')
      return true
    })
  })

  test(name('retention by count expires ids older than the oldest kept'), exact, async (t) => {
    const f = await open(t, { maxEvents: 5 })
    const { h } = f
    const evs = await appendN(f, 12)
    assert.equal(h.size(), 5)
    // evs[6] is the newest id before the oldest kept (evs[7]): nothing was missed.
    assert.deepEqual(
      ids(await h.readAfter(evs[6]!.id, all)),
      evs.slice(7).map((e) => e.id),
    )
    assert.deepEqual(await h.readAfter(evs[5]!.id, all), EXPIRED)
    assert.deepEqual(await h.readAfter(evs[0]!.id, all), EXPIRED)
    assert.equal(h.lastId(), evs.at(-1)!.id)
  })

  test(name('retention by bytes drops the oldest first'), exact, async (t) => {
    // Each event: 10 bytes of data + 1 byte of topic = 11 bytes.
    const f = await open(t, { maxBytes: 50 })
    const { h } = f
    const evs: StoredEvent[] = []
    for (let i = 0; i < 10; i++) evs.push(await h.append(['a'], { data: String(i).padStart(10, '0') }))
    await f.delivered(evs.at(-1)!.id)
    assert.equal(h.size(), 4)
    assert.deepEqual(
      ids(await h.readAfter(evs[5]!.id, all)),
      evs.slice(6).map((e) => e.id),
    )
    assert.deepEqual(await h.readAfter(evs[4]!.id, all), EXPIRED)
    // One big event pushes out all the small ones.
    const big = await h.append(['a'], { data: 'x'.repeat(45) })
    await f.delivered(big.id)
    assert.equal(h.size(), 1)
    assert.deepEqual(ids(await h.readAfter(evs.at(-1)!.id, all)), [big.id])
  })

  test(name('retention by age trims lazily on read and append'), exact, async (t) => {
    let now = 50_000
    const f = await open(t, { ttlMs: 1000, now: () => now })
    const { h } = f
    const old = await appendN(f, 3)
    now += 600
    const young = await appendN(f, 2)
    now += 600 // the first three are now 1200 ms old, the last two 600 ms
    assert.deepEqual(await h.readAfter(old[0]!.id, all), EXPIRED)
    assert.deepEqual(
      ids(await h.readAfter(old[2]!.id, all)),
      young.map((e) => e.id),
    )
    assert.equal(h.size(), 2)
    now += 2000
    const [last] = await appendN(f, 1)
    assert.equal(h.size(), 1)
    assert.deepEqual(await h.readAfter(young[0]!.id, all), EXPIRED)
    assert.deepEqual(ids(await h.readAfter(young[1]!.id, all)), [last!.id])
  })

  test(name('ttl 0 keeps events of any age'), exact, async (t) => {
    let now = 0
    const f = await open(t, { ttlMs: 0, now: () => now })
    const evs = await appendN(f, 3)
    now += 365 * 24 * 3_600_000
    assert.deepEqual(
      ids(await f.h.readAfter(evs[0]!.id, all)),
      evs.slice(1).map((e) => e.id),
    )
  })

  test(name('ids are never reused after everything was trimmed'), exact, async (t) => {
    let now = 0
    const f = await open(t, { ttlMs: 10, now: () => now })
    const { h } = f
    const a = await appendN(f, 3)
    now += 100
    assert.deepEqual(await h.readAfter(a[0]!.id, all), EXPIRED)
    assert.equal(h.size(), 0)
    // The newest id still resumes (nothing after it was lost).
    assert.deepEqual(ids(await h.readAfter(a[2]!.id, all)), [])
    const c = await appendN(f, 2)
    assert.ok(h.compare(a[2]!.id, c[0]!.id) < 0)
    assert.ok(!a.some((e) => c.some((g) => g.id === e.id)))
  })

  test(name('maxEvents 0 keeps nothing but still assigns ids and feeds listeners'), exact, async (t) => {
    const f = await open(t, { maxEvents: 0 })
    const { h } = f
    const evs = await appendN(f, 3)
    assert.equal(h.size(), 0)
    assert.equal(f.seen.length, 3)
    assert.deepEqual(await h.readAfter(evs[0]!.id, all), EXPIRED)
    assert.deepEqual(ids(await h.readAfter(evs[2]!.id, all)), [])
  })

  test(name('a ring that wraps many times keeps order'), exact, async (t) => {
    const f = await open(t, { maxEvents: 300 })
    const { h } = f
    const evs = await appendN(f, 1000)
    assert.deepEqual(
      ids(await h.readAfter(evs[849]!.id, all)),
      evs.slice(850).map((e) => e.id),
    )
    assert.deepEqual(await h.readAfter(evs[698]!.id, all), EXPIRED)
    assert.equal(ids(await h.readAfter(evs[699]!.id, all)).length, 300)
  })
}
