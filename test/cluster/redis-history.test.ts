/**
 * The Redis Streams history against a real redis-server on an ephemeral port: two History instances
 * on one Redis act as two hub nodes.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { type AddressInfo, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { LifelineError } from '../../packages/lifeline-sse/src/protocol/errors.ts'
import { createRedisHistory, redisKeys } from '../../packages/lifeline-sse/src/redis/index.ts'
import type {
  History,
  ResetReason,
  StoredEvent,
} from '../../packages/lifeline-sse/src/server/history/history.ts'
import { startRedisCluster, startRedisServer } from '../helpers/redis-server.ts'

const DEADLINE_MS = 15_000
const all = () => true

/** Records a history's live feed; `until` awaits a condition on it with a deadline. */
function record(history: History) {
  const events: StoredEvent[] = []
  const resets: ResetReason[] = []
  const waiters = new Set<() => void>()
  history.subscribe({
    onEvent(event) {
      events.push(event)
      for (const wake of waiters) wake()
    },
    onReset(reason) {
      resets.push(reason)
      for (const wake of waiters) wake()
    },
  })
  function until(condition: () => boolean, what: string): Promise<void> {
    if (condition()) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(wake)
        reject(
          new Error(`timed out waiting for ${what}; got ${events.length} events, resets ${resets.join(',')}`),
        )
      }, DEADLINE_MS)
      const wake = () => {
        if (!condition()) return
        clearTimeout(timer)
        waiters.delete(wake)
        resolve()
      }
      waiters.add(wake)
    })
  }
  return { events, resets, until }
}

/** Polls a state that has no event of its own (ready()) until it holds, or fails at the deadline. */
async function eventually(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function rejectsUnavailable(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof LifelineError)
    assert.equal(error.code, 'LIFELINE_ERR_BACKEND_UNAVAILABLE')
    return true
  })
}

test('events appended on either node reach both nodes in one id order, exactly once', async (t) => {
  const redis = await startRedisServer()
  t.after(() => redis.stop())
  const a = await createRedisHistory({ url: redis.url, keyPrefix: 't1:' })
  t.after(() => a.close())
  const b = await createRedisHistory({ url: redis.url, keyPrefix: 't1:' })
  t.after(() => b.close())
  assert.ok(a.ready() && b.ready())
  const onA = record(a)
  const onB = record(b)

  const acked: string[] = []
  for (let i = 0; i < 20; i++) {
    const node = i % 2 === 0 ? a : b
    const stored = await node.append([`room/${i % 3}`], {
      data: `m${i}`,
      event: i % 5 === 0 ? 'tick' : undefined,
    })
    acked.push(stored.id)
  }
  await onA.until(() => onA.events.length >= 20, '20 events on A')
  await onB.until(() => onB.events.length >= 20, '20 events on B')

  for (const seen of [onA.events, onB.events]) {
    assert.deepEqual(
      seen.map((e) => e.id),
      acked,
    )
    assert.deepEqual(
      seen.map((e) => e.data),
      acked.map((_, i) => `m${i}`),
    )
    assert.equal(seen[0]?.event, 'tick')
    assert.equal(seen[1]?.event, undefined)
    assert.deepEqual(seen[4]?.topics, ['room/1'])
  }
  for (let i = 1; i < acked.length; i++) assert.ok(a.compare(acked[i - 1] as string, acked[i] as string) < 0)
  assert.equal(a.lastId(), acked.at(-1))
  assert.equal(b.lastId(), acked.at(-1))
})

test('readAfter on the other node replays what followed the id, topic-filtered, across pages', async (t) => {
  const redis = await startRedisServer()
  t.after(() => redis.stop())
  const a = await createRedisHistory({ url: redis.url, keyPrefix: 't2:' })
  t.after(() => a.close())
  const b = await createRedisHistory({ url: redis.url, keyPrefix: 't2:' })
  t.after(() => b.close())
  const onB = record(b)

  // 2,500 events: more than two replay pages of 1,000.
  const stored = await Promise.all(
    Array.from({ length: 2_500 }, (_, i) => a.append([i % 2 === 0 ? 'even' : 'odd'], { data: String(i) })),
  )
  // A replay ends where the node's live feed stands; here B has read everything.
  await onB.until(() => onB.events.length === 2_500, 'all events read by B')
  const from = stored[99] as StoredEvent
  const replay = await b.readAfter(from.id, (topics) => topics.includes('odd'))
  assert.equal(replay.kind, 'events')
  assert.ok(replay.kind === 'events')
  const expected = stored.slice(100).filter((e) => e.topics.includes('odd'))
  assert.deepEqual(
    replay.events.map((e) => e.id),
    expected.map((e) => e.id),
  )
  assert.deepEqual(
    replay.events.map((e) => e.data),
    expected.map((e) => e.data),
  )

  const atEnd = await b.readAfter((stored.at(-1) as StoredEvent).id, all)
  assert.deepEqual(atEnd, { kind: 'events', events: [] })
})

test('replay then live on one node gives every event once while another node keeps appending', async (t) => {
  const redis = await startRedisServer()
  t.after(() => redis.stop())
  const a = await createRedisHistory({ url: redis.url, keyPrefix: 't6:' })
  t.after(() => a.close())
  const b = await createRedisHistory({ url: redis.url, keyPrefix: 't6:' })
  t.after(() => b.close())
  const onA = record(a)

  const first = await b.append(['t'], { data: 'resume point' })
  await onA.until(() => onA.events.length === 1, 'the resume point on A')
  // B appends without pause while A serves resumes, as the hub does: live events that arrive during a
  // replay are held, then those not newer than the last replayed id are dropped.
  let appending = true
  const appended: string[] = []
  const producer = (async () => {
    while (appending) appended.push((await b.append(['t'], { data: 'x' })).id)
  })()
  t.after(() => {
    appending = false
  })
  for (let round = 0; round < 20; round++) {
    // Each round starts while events are flowing: at least one new event since the last round.
    const before = onA.events.length
    await onA.until(() => onA.events.length > before, `a new event before round ${round}`)
    const from = onA.events.length
    const asked = onA.events[Math.max(0, from - 5)]?.id ?? first.id
    const replay = await a.readAfter(asked, all)
    assert.ok(replay.kind === 'events')
    const held = onA.events.slice(from).map((e) => e.id)
    const last = replay.events.at(-1)?.id
    const seen = [
      ...replay.events.map((e) => e.id),
      ...held.filter((id) => last === undefined || a.compare(id, last) > 0),
    ]
    // Up to what A has delivered so far, the client has exactly every id after `asked`, once.
    const expected = onA.events.map((e) => e.id).filter((id) => a.compare(id, asked) > 0)
    assert.deepEqual(seen, expected, `round ${round}`)
  }
  appending = false
  await producer
  assert.ok(appended.length > 20, `B appended ${appended.length} events meanwhile`)
})

test('an id older than the stream answers expired; a future, foreign or malformed id answers unknown', async (t) => {
  const redis = await startRedisServer()
  t.after(() => redis.stop())
  const h = await createRedisHistory({ url: redis.url, keyPrefix: 't3:', maxEvents: 10 })
  t.after(() => h.close())

  const first = await h.append(['x'], { data: 'first' })
  // MAXLEN ~ trims whole radix-tree nodes (100 entries by default): push the first one well out.
  for (let i = 0; i < 400; i++) await h.append(['x'], { data: String(i) })
  assert.deepEqual(await h.readAfter(first.id, all), { kind: 'reset', reason: 'expired' })
  assert.deepEqual(await h.readAfter('0-0', all), { kind: 'reset', reason: 'expired' })

  const last = h.lastId() ?? (await h.append(['x'], { data: 'last' })).id
  const [ms] = last.split('-')
  const future = `${Number(ms) + 60_000}-0`
  assert.deepEqual(await h.readAfter(future, all), { kind: 'reset', reason: 'unknown' })
  for (const foreign of ['m1a2b3-17', 'abc', '12', '-1', '01-1', '1-1-1', '99999999999999999999999-0', ''])
    assert.deepEqual(await h.readAfter(foreign, all), { kind: 'reset', reason: 'unknown' }, foreign)
})

test('Redis killed: not ready, append rejects; restarted with AOF always: nothing acknowledged lost, reading resumes in order', async (t) => {
  const redis = await startRedisServer({ aof: true })
  t.after(() => redis.stop())
  const a = await createRedisHistory({ url: redis.url, keyPrefix: 't4:' })
  t.after(() => a.close())
  const b = await createRedisHistory({ url: redis.url, keyPrefix: 't4:' })
  t.after(() => b.close())
  const onA = record(a)

  const before: string[] = []
  for (let i = 0; i < 10; i++) before.push((await b.append(['t'], { data: `before${i}` })).id)
  await onA.until(() => onA.events.length === 10, 'the first 10 events on A')

  await redis.kill()
  await eventually(() => !a.ready() && !b.ready(), 'both nodes not ready')
  await rejectsUnavailable(a.append(['t'], { data: 'lost?' }))
  await rejectsUnavailable(b.append(['t'], { data: 'lost?' }))

  await redis.restart()
  await eventually(() => b.ready(), 'B ready again')
  // B publishes as soon as it can, possibly before A has reconnected: A must still get it, in order.
  const after: string[] = []
  for (let i = 0; i < 10; i++) after.push((await b.append(['t'], { data: `after${i}` })).id)
  await onA.until(() => onA.events.length >= 20, '20 events on A')
  await eventually(() => a.ready(), 'A ready again')

  assert.deepEqual(onA.resets, [])
  assert.deepEqual(
    onA.events.map((e) => e.id),
    [...before, ...after],
  )
  const replay = await a.readAfter(before[0] as string, all)
  assert.ok(replay.kind === 'events')
  assert.deepEqual(
    replay.events.map((e) => e.id),
    [...before.slice(1), ...after],
  )
})

test('Redis restarted without persistence: subscribers get backend_lost, then the new stream flows', async (t) => {
  const redis = await startRedisServer()
  t.after(() => redis.stop())
  const a = await createRedisHistory({ url: redis.url, keyPrefix: 't5:' })
  t.after(() => a.close())
  const b = await createRedisHistory({ url: redis.url, keyPrefix: 't5:' })
  t.after(() => b.close())
  const onA = record(a)
  const onB = record(b)

  const old = await a.append(['t'], { data: 'old' })
  await onB.until(() => onB.events.length === 1, 'the first event on B')

  await redis.kill()
  await eventually(() => !a.ready(), 'A not ready')
  await redis.restart()

  await onA.until(() => onA.resets.length === 1, 'backend_lost on A')
  await onB.until(() => onB.resets.length === 1, 'backend_lost on B')
  assert.deepEqual(onA.resets, ['backend_lost'])
  assert.deepEqual(onB.resets, ['backend_lost'])
  await eventually(() => a.ready() && b.ready(), 'both ready')

  const fresh = await b.append(['t'], { data: 'new' })
  await onA.until(() => onA.events.length === 2, 'the new event on A')
  assert.equal(onA.events[1]?.id, fresh.id)
  assert.equal(onA.events[1]?.data, 'new')
  // A client still holding the old id cannot resume from it in the new data set.
  const resumed = await b.readAfter(old.id, all)
  assert.equal(resumed.kind, 'reset')
})

test('a node that cannot reach Redis at start rejects with LIFELINE_ERR_BACKEND_UNAVAILABLE', async (t) => {
  // A port we hold, where every connection is dropped at once: nothing else can take it meanwhile.
  const refuser = createServer((socket) => socket.destroy())
  refuser.listen(0, '127.0.0.1')
  await once(refuser, 'listening')
  t.after(() => refuser.close())
  const { port } = refuser.address() as AddressInfo
  const started = Date.now()
  await rejectsUnavailable(createRedisHistory({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 500 }))
  assert.ok(Date.now() - started < DEADLINE_MS)
  t.diagnostic(`gave up after ${Date.now() - started} ms`)
})

test('on Redis Cluster both keys share one slot and events flow between nodes', async (t) => {
  const redis = await startRedisCluster(DEADLINE_MS)
  t.after(() => redis.stop())
  const keys = redisKeys('t7:')
  const slots = await Promise.all(
    [keys.stream, keys.epoch].map((key) => redis.command(`CLUSTER KEYSLOT ${key}`)),
  )
  assert.equal(slots[0], slots[1])
  // A prefix with its own hash tag moves the pair to that tag's slot (spreads deployments over shards).
  const tagged = redisKeys('app1:{app1}:')
  assert.equal(
    await redis.command(`CLUSTER KEYSLOT ${tagged.stream}`),
    await redis.command('CLUSTER KEYSLOT app1'),
  )

  const a = await createRedisHistory({ url: redis.url, cluster: true, keyPrefix: 't7:' })
  t.after(() => a.close())
  const b = await createRedisHistory({ url: redis.url, cluster: true, keyPrefix: 't7:' })
  t.after(() => b.close())
  const onB = record(b)
  const sent = [await a.append(['t'], { data: '1' }), await b.append(['t'], { data: '2' })]
  await onB.until(() => onB.events.length === 2, 'both events on B')
  assert.deepEqual(
    onB.events.map((e) => e.id),
    sent.map((e) => e.id),
  )
  const replay = await a.readAfter((sent[0] as StoredEvent).id, all)
  assert.ok(replay.kind === 'events')
  assert.deepEqual(
    replay.events.map((e) => e.data),
    ['2'],
  )
})

test('an entry another program wrote into the stream does not stop the readers', async (t) => {
  const redis = await startRedisServer()
  t.after(() => redis.stop())
  const a = await createRedisHistory({ url: redis.url, keyPrefix: 't8:' })
  t.after(() => a.close())
  const onA = record(a)
  assert.match(await redis.command('XADD t8:{stream} * t not-json d x'), /^\$/)
  assert.match(await redis.command('XADD t8:{stream} * other field'), /^\$/)
  const good = await a.append(['room'], { data: 'fine' })
  await onA.until(() => onA.events.some((e) => e.id === good.id), 'the event after the foreign entries')
  // Foreign entries match no topic, so no stream ever gets them; the order is intact.
  assert.deepEqual(
    onA.events.map((e) => e.topics.length),
    [0, 0, 1],
  )
  assert.ok(a.ready())
})

test('without the ioredis package, cluster mode fails with one error naming the package to install', async (t) => {
  // A copy of the sources in a temp dir with no node_modules anywhere above it: `ioredis` is really missing.
  const dir = await mkdtemp(join(tmpdir(), 'lifeline-no-ioredis-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const src = fileURLToPath(new URL('../../packages/lifeline-sse/src/', import.meta.url))
  // The whole library: it has no runtime dependency, so nothing else is needed to import it.
  await cp(src, join(dir, 'src'), { recursive: true })
  await writeFile(join(dir, 'package.json'), '{"type": "module"}\n')
  const script = `
    const { createRedisHistory } = await import('./src/redis/index.ts')
    try { await createRedisHistory({ url: 'redis://127.0.0.1:1' }); console.log('{}') }
    catch (error) { console.log(JSON.stringify({ code: error.code, message: error.message })) }`
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
  })
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk
  })
  const [code] = (await once(child, 'exit')) as [number | null]
  assert.equal(code, 0, err)
  const error = JSON.parse(out) as { code?: string; message?: string }
  assert.equal(error.code, 'LIFELINE_ERR_REDIS_CLIENT_MISSING')
  assert.match(error.message ?? '', /npm install ioredis/)
})

test('a Redis that stops answering (CLIENT PAUSE) makes the node not ready within commandTimeoutMs, then it recovers', async (t) => {
  const redis = await startRedisServer()
  t.after(() => redis.stop())
  const a = await createRedisHistory({ url: redis.url, keyPrefix: 't9:', commandTimeoutMs: 400 })
  t.after(() => a.close())
  const b = await createRedisHistory({ url: redis.url, keyPrefix: 't9:' })
  t.after(() => b.close())
  const onA = record(a)
  assert.ok(a.ready())
  assert.match(await redis.command('CLIENT PAUSE 2500 ALL'), /^\+OK/)
  await eventually(() => !a.ready(), 'A not ready while Redis does not answer')
  await eventually(() => a.ready(), 'A ready again after the pause')
  const after = await b.append(['t'], { data: 'after the pause' })
  await onA.until(() => onA.events.some((e) => e.id === after.id), 'the event after the pause on A')
  assert.deepEqual(onA.resets, [])
})

test('a wrong password fails the start with the reason from Redis and without the password', async (t) => {
  const redis = await startRedisServer({ args: ['--requirepass', 'right-secret'] })
  t.after(() => redis.stop())
  const wrong = redis.url.replace('redis://', 'redis://:wrong-secret@')
  await assert.rejects(createRedisHistory({ url: wrong, connectTimeoutMs: 800 }), (error: unknown) => {
    assert.ok(error instanceof LifelineError)
    assert.equal(error.code, 'LIFELINE_ERR_BACKEND_UNAVAILABLE')
    assert.match(error.message, /WRONGPASS/)
    assert.doesNotMatch(error.message, /wrong-secret/)
    return true
  })
  const right = await createRedisHistory({ url: redis.url.replace('redis://', 'redis://:right-secret@') })
  t.after(() => right.close())
  assert.ok(right.ready())
})

test('started without waiting (connectTimeoutMs 0): every append it acknowledges is delivered on this node', async (t) => {
  const redis = await startRedisServer()
  t.after(() => redis.stop())
  for (let run = 0; run < 3; run++) {
    const h = await createRedisHistory({ url: redis.url, keyPrefix: `t10-${run}:`, connectTimeoutMs: 0 })
    t.after(() => h.close())
    const onH = record(h)
    // Publish from the first moment: refusals are fine (not ready yet), an acknowledged event must arrive.
    const acked: string[] = []
    while (acked.length < 3) {
      try {
        acked.push((await h.append(['t'], { data: String(acked.length) })).id)
      } catch (error) {
        assert.ok(error instanceof LifelineError && error.code === 'LIFELINE_ERR_BACKEND_UNAVAILABLE')
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    await onH.until(() => onH.events.length >= 3, `the 3 acknowledged events (run ${run})`)
    assert.deepEqual(
      onH.events.map((e) => e.id),
      acked,
    )
  }
})
