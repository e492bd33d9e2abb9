/**
 * The replay seam under concurrent publishing, as a property (fast-check): random interleavings of
 * publish bursts, dropped streams and resumes (header or query), over real sockets through
 * `handleNode`. For the client's topics, the union of what its streams received must be exactly the
 * published sequence: in order, no duplicate, and no gap unless the stream that skipped started with
 * `lifeline:reset`. Run over the memory ring (also a tiny one, so resets happen) and the file store.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import fc from 'fast-check'
import { FileHistory } from '../../packages/lifeline-sse/src/server/history/file-history.ts'
import type { History } from '../../packages/lifeline-sse/src/server/history/history.ts'
import { MemoryHistory } from '../../packages/lifeline-sse/src/server/history/memory-history.ts'
import { compileMatcher } from '../../packages/lifeline-sse/src/server/topics.ts'
import { type Received, SseClient, startHub, waitForStreams } from './helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'lifeline-seam-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
let files = 0

/** The client's subscription: an exact topic, a prefix, and topics it must never see. */
const CLIENT_TOPICS = ['a', 'p/*']
const ALL_TOPICS = ['a', 'b', 'p/1', 'p/2/x', 'pp', 'c']

type Op =
  | { op: 'publish'; topics: string[][] }
  | { op: 'drop' }
  | { op: 'resume'; via: 'header' | 'query'; awaitHeaders: boolean }
  | { op: 'tick'; macrotasks: number }
  | { op: 'sleep'; ms: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('publish' as const),
      topics: fc.array(fc.uniqueArray(fc.constantFrom(...ALL_TOPICS), { minLength: 1, maxLength: 3 }), {
        minLength: 1,
        maxLength: 6,
      }),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ op: 'drop' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('resume' as const),
      via: fc.constantFrom('header' as const, 'query' as const),
      // Awaiting the headers means the hub has opened the stream (and begun its replay) before the next op.
      awaitHeaders: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('tick' as const), macrotasks: fc.integer({ min: 1, max: 4 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('sleep' as const), ms: fc.integer({ min: 0, max: 8 }) }),
  },
)

const macrotask = () => new Promise((resolve) => setImmediate(resolve))

async function runScenario(history: History, ops: readonly Op[], maxBufferedBytes?: number): Promise<void> {
  const h = await startHub(maxBufferedBytes === undefined ? { history } : { history, maxBufferedBytes })
  const streams: SseClient[] = []
  try {
    const published: Promise<{ id: string; topics: string[] }>[] = []
    const publish = (topics: string[]) =>
      published.push(h.hub.publish(topics, { data: topics.join(',') }).then((id) => ({ id, topics })))
    const lastSeen = (): string | undefined => {
      for (let s = streams.length - 1; s >= 0; s--) {
        const m = streams[s]!.messages()
        if (m.length > 0) return m[m.length - 1]!.id
      }
      return undefined
    }
    const open = (via: 'header' | 'query') => {
      const last = lastSeen()
      const options =
        last === undefined
          ? {}
          : via === 'header'
            ? { lastEventId: last }
            : { query: `lastEventId=${encodeURIComponent(last)}` }
      const c = new SseClient(h.url, CLIENT_TOPICS, options)
      c.opened().catch(() => {})
      streams.push(c)
    }
    const current = () => streams.at(-1)

    // The first stream is open and has seen one event before anything else: it has an id to resume from.
    open('header')
    await current()!.opened()
    await waitForStreams(h.hub, 1)
    publish(['a'])
    await current()!.waitForCount(1)

    for (const op of ops) {
      if (op.op === 'publish') for (const topics of op.topics) publish(topics)
      else if (op.op === 'drop') current()?.close()
      else if (op.op === 'resume') {
        current()?.close()
        open(op.via)
        if (op.awaitHeaders) await current()!.opened()
      } else if (op.op === 'sleep') await new Promise((resolve) => setTimeout(resolve, op.ms))
      else for (let i = 0; i < op.macrotasks; i++) await macrotask()
    }
    if (current()!.ended) open('header')
    const last = current()!
    await last.opened()
    const fence = await h.hub.publish('a', { data: 'fence' })
    await last.waitFor((e) => e.some((x) => x.id === fence), 'the fence', 15_000)

    // Expected: every published event on the client's topics, in the store's id order.
    const all = await Promise.all(published)
    all.push({ id: fence, topics: ['a'] })
    const match = compileMatcher(CLIENT_TOPICS)
    const expected = all
      .filter((e) => match(e.topics))
      .map((e) => e.id)
      .sort((x, y) => history.compare(x, y))

    // Walk the streams in order: each continues exactly where the previous left off, unless it
    // started with lifeline:reset, which allows a jump forward (never backward).
    const received: string[] = []
    let at = 0
    for (const [n, s] of streams.entries()) {
      const events: readonly Received[] = s.events
      const reset = events[0]?.type === 'lifeline:reset'
      for (const [i, e] of events.entries()) {
        if (e.type === 'lifeline:reset') {
          assert.equal(i, 0, `stream ${n}: a reset only comes first`)
          continue
        }
        received.push(e.id)
        const want = expected.indexOf(e.id)
        assert.ok(want !== -1, `stream ${n}: ${e.id} (${e.data}) is not an event of the client's topics`)
        if (want !== at) {
          assert.ok(
            reset && i === 1 && want > at,
            `stream ${n}: got ${e.id} at position ${want}, expected ${expected[at]} (gap or duplicate without reset)`,
          )
        }
        at = want + 1
      }
    }
    assert.equal(at, expected.length, 'the last stream reached the fence')
    assert.equal(new Set(received).size, received.length, 'no duplicate')
  } finally {
    for (const s of streams) s.close()
    await h.close()
  }
}

/**
 * A store whose reads answer late, as a networked backend (Redis) does: the replay is read after live
 * events for the same stream were already held, so the hub must drop the overlap at the seam.
 */
class LateReads implements History {
  readonly #inner: History
  readonly #delays: number[]
  #n = 0
  constructor(inner: History, delays: number[]) {
    this.#inner = inner
    this.#delays = delays
  }
  append(...args: Parameters<History['append']>) {
    return this.#inner.append(...args)
  }
  async readAfter(...args: Parameters<History['readAfter']>) {
    const ms = this.#delays[this.#n++ % this.#delays.length]!
    await new Promise((resolve) => setTimeout(resolve, ms))
    return this.#inner.readAfter(...args)
  }
  lastId() {
    return this.#inner.lastId()
  }
  compare(a: string, b: string) {
    return this.#inner.compare(a, b)
  }
  subscribe(...args: Parameters<History['subscribe']>) {
    return this.#inner.subscribe(...args)
  }
  size() {
    return this.#inner.size()
  }
  ready() {
    return this.#inner.ready()
  }
  close() {
    return this.#inner.close()
  }
}

const scenario = fc.array(opArb, { minLength: 1, maxLength: 30, size: 'medium' })

test('seam property: memory store, no loss and no duplicate across drops and resumes', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, (ops) => runScenario(new MemoryHistory(), ops)),
    { numRuns: 60, endOnFailure: true },
  )
})

test('seam property: a tiny memory ring resets instead of skipping silently', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, fc.integer({ min: 1, max: 6 }), (ops, maxEvents) =>
      runScenario(new MemoryHistory({ maxEvents }), ops),
    ),
    { numRuns: 40, endOnFailure: true },
  )
})

test('seam property: file store, no loss and no duplicate across drops and resumes', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, (ops) =>
      runScenario(new FileHistory({ path: join(dir, `seam${files++}.db`) }), ops),
    ),
    { numRuns: 25, endOnFailure: true },
  )
})

test('seam property: a store that reads late (events held during the replay) loses and repeats nothing', async () => {
  await fc.assert(
    fc.asyncProperty(
      scenario,
      fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 5 }),
      (ops, delays) => runScenario(new LateReads(new MemoryHistory(), delays), ops),
    ),
    { numRuns: 40, endOnFailure: true },
  )
})

test('seam property: live events held past the cap are dropped and read back from history, exactly once', async () => {
  // A cap of a few events: a replay that reads late overflows its held events and reads them again.
  await fc.assert(
    fc.asyncProperty(
      scenario,
      fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 5 }),
      fc.integer({ min: 150, max: 600 }),
      (ops, delays, cap) => runScenario(new LateReads(new MemoryHistory(), delays), ops, cap),
    ),
    { numRuns: 40, endOnFailure: true },
  )
})
