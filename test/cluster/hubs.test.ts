/**
 * Cluster mode end to end: real `lifeline serve --redis` processes on one real redis-server, real TCP
 * streams. docs/design.md §2, §4, §8.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LifelineEventSource } from '../../packages/lifeline-sse/src/client/index.ts'
import type { ParsedEvent } from '../../packages/lifeline-sse/src/protocol/types.ts'
import { startRedisServer } from '../helpers/redis-server.ts'
import {
  http,
  openStream,
  publish,
  type ServeProcess,
  type SseStream,
  startServe,
} from '../hub/serve-process.ts'

const DEADLINE_MS = 20_000
/** Short `retry:` so clients come back fast; the hub jitters it per stream. */
const HUB_ARGS = ['--retry', '200ms', '--heartbeat', '1s']

async function startHubs(
  redisUrl: string,
  count: number,
  t: { after(fn: () => unknown): void },
): Promise<ServeProcess[]> {
  const hubs = await Promise.all(
    Array.from({ length: count }, () => startServe(['--redis', redisUrl, ...HUB_ARGS])),
  )
  for (const hub of hubs) t.after(() => hub.stop('SIGKILL'))
  // A hub listens at once but is ready (and takes publishes) only once it reads the stream (docs/design.md §8).
  for (const hub of hubs)
    await eventually(async () => (await http(`${hub.url}/readyz`)).status === 200, 'hub ready')
  return hubs
}

async function publishOk(base: string, data: string, topic = 'room'): Promise<string> {
  const answer = await publish(base, { topic, data })
  assert.equal(answer.status, 201, answer.body)
  return answer.json().id as string
}

async function eventually(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

const ids = (events: readonly ParsedEvent[]) =>
  events.filter((e) => e.type === 'message').map((e) => e.lastEventId)
const resets = (events: readonly ParsedEvent[]) => events.filter((e) => e.type === 'lifeline:reset')

function assertIncreasing(list: readonly string[], what: string): void {
  for (let i = 1; i < list.length; i++) {
    const [am, as] = (list[i - 1] as string).split('-').map(BigInt) as [bigint, bigint]
    const [bm, bs] = (list[i] as string).split('-').map(BigInt) as [bigint, bigint]
    assert.ok(am < bm || (am === bm && as < bs), `${what}: ${list[i - 1]} then ${list[i]}`)
  }
}

test('three hubs on one Redis: every event everywhere in one order, resume on another node, survive a dead hub', async (t) => {
  const redis = await startRedisServer()
  t.after(() => redis.stop())
  const [a, b, c] = (await startHubs(redis.url, 3, t)) as [ServeProcess, ServeProcess, ServeProcess]
  const streams: SseStream[] = []
  t.after(() => {
    for (const s of streams) s.close()
  })

  await t.test('a publish to A reaches B and C (and A) in order', async () => {
    const opened = await Promise.all([a, b, c].map((hub) => openStream(hub.url, '/events?topic=room')))
    streams.push(...opened)
    const sent: string[] = []
    for (let i = 0; i < 20; i++) sent.push(await publishOk(a.url, `m${i}`))
    for (const stream of opened) {
      await stream.waitFor(20, DEADLINE_MS)
      assert.deepEqual(ids(stream.events), sent)
      assert.deepEqual(
        stream.events.map((e) => e.data),
        sent.map((_, i) => `m${i}`),
      )
    }
    assertIncreasing(sent, 'ids from A')
    for (const stream of opened) stream.close()
  })

  await t.test('disconnect from B, resume on C with the id from B: nothing lost, nothing twice', async () => {
    const onB = await openStream(b.url, '/events?topic=room')
    streams.push(onB)
    const first: string[] = []
    for (let i = 0; i < 10; i++) first.push(await publishOk(i % 2 ? a.url : c.url, `first${i}`))
    await onB.waitFor(10, DEADLINE_MS)
    assert.deepEqual(ids(onB.events), first)
    onB.close()
    // Published while the client is away, through all three nodes.
    const missed: string[] = []
    for (let i = 0; i < 9; i++) missed.push(await publishOk([a, b, c][i % 3]!.url, `missed${i}`))
    const onC = await openStream(c.url, '/events?topic=room', { 'last-event-id': first.at(-1) as string })
    streams.push(onC)
    await onC.waitFor(9, DEADLINE_MS)
    const live: string[] = []
    for (let i = 0; i < 5; i++) live.push(await publishOk(a.url, `live${i}`))
    await onC.waitFor(14, DEADLINE_MS)
    assert.deepEqual(resets(onC.events), [])
    assert.deepEqual(ids(onC.events), [...missed, ...live])
    onC.close()
  })

  await t.test(
    'kill a hub: its client reconnects to another through the balancer and misses nothing',
    async () => {
      // The balancer: send each (re)connection to the first node that answers, B before C.
      const backends = [b.url, c.url]
      const balancer: typeof fetch = async (input, init) => {
        const asked = new URL(input instanceof Request ? input.url : String(input))
        let failure: unknown
        for (const base of backends) {
          try {
            return await fetch(`${base}${asked.pathname}${asked.search}`, init)
          } catch (error) {
            failure = error
          }
        }
        throw failure
      }
      const received: { id: string; data: string }[] = []
      const client = new LifelineEventSource('http://balancer.invalid/events?topic=room', {
        fetch: balancer,
        retry: { initialDelay: 50, maxDelay: 500 },
      })
      t.after(() => client.close())
      client.addEventListener('message', (event) => {
        received.push({ id: event.lastEventId, data: event.data })
      })
      await eventually(() => client.readyState === LifelineEventSource.OPEN, 'the client open on B')
      const sent: string[] = []
      for (let i = 0; i < 5; i++) sent.push(await publishOk(a.url, `before-kill${i}`))
      await eventually(() => received.length === 5, 'the first 5 events on the client')
      b.child.kill('SIGKILL')
      await b.exited
      for (let i = 0; i < 5; i++) sent.push(await publishOk(a.url, `after-kill${i}`))
      await eventually(() => received.length >= 10, 'all 10 events after the reconnect to C')
      for (let i = 0; i < 3; i++) sent.push(await publishOk(c.url, `on-c${i}`))
      await eventually(() => received.length >= 13, 'the live events on C')
      assert.deepEqual(
        received.map((e) => e.id),
        sent,
      )
      client.close()
    },
  )

  await t.test(
    'Redis without persistence killed and restarted while publishing: 503s meanwhile, open streams stay up, then lifeline:reset backend_lost and every later event',
    async () => {
      const onC = await openStream(c.url, '/events?topic=room')
      streams.push(onC)
      await publishOk(a.url, 'before')
      await onC.waitFor(1, DEADLINE_MS)

      const acked: { id: string; afterRestart: boolean }[] = []
      let refusals = 0
      let restarted = false
      let running = true
      const publisher = (async () => {
        for (let i = 0; running; i++) {
          const answer = await publish((i % 2 ? a : c).url, { topic: 'room', data: `p${i}` }).catch(
            () => undefined,
          )
          if (answer?.status === 201) acked.push({ id: answer.json().id as string, afterRestart: restarted })
          else {
            if (answer?.status === 503) refusals++
            await new Promise((resolve) => setTimeout(resolve, 20))
          }
        }
      })()
      try {
        await eventually(() => acked.length >= 10, '10 publishes acknowledged before the kill')
        await redis.kill()
        await eventually(async () => (await http(`${a.url}/readyz`)).status === 503, '/readyz 503 on A')
        const refused = await publish(a.url, { topic: 'room', data: 'refused' })
        assert.equal(refused.status, 503)
        assert.equal(refused.json().error, 'backend_unavailable')
        assert.ok(refused.headers['retry-after'], 'Retry-After on a refused publish')
        // The open stream stays open and keeps its heartbeats while Redis is away.
        const comments = onC.comments.length
        await eventually(() => onC.comments.length > comments, 'a heartbeat on C while Redis is down')
        assert.equal(onC.res.complete, false, 'the stream is still open')

        await redis.restart()
        restarted = true
        await eventually(() => resets(onC.events).length === 1, 'lifeline:reset on the open stream')
        await eventually(
          () => acked.filter((e) => e.afterRestart).length >= 10,
          '10 publishes acknowledged after the restart',
        )
      } finally {
        running = false
        await publisher
      }
      assert.ok(refusals > 0, 'publishes were refused while Redis was down')
      const reset = resets(onC.events)[0] as ParsedEvent
      assert.equal(JSON.parse(reset.data).reason, 'backend_lost')
      const last = (acked.at(-1) as { id: string }).id
      await eventually(() => ids(onC.events).includes(last), 'the last acknowledged event on C')
      // After the reset: the new stream, in order, once, including every publish acknowledged since.
      const afterReset = ids(onC.events.slice(onC.events.indexOf(reset)))
      assertIncreasing(afterReset, 'ids after the reset')
      assert.equal(new Set(afterReset).size, afterReset.length, 'no event twice')
      const missing = acked.filter((e) => e.afterRestart && !afterReset.includes(e.id))
      assert.deepEqual(missing, [], 'every publish acknowledged after the restart arrived')
      onC.close()
    },
  )
})

test('Redis with AOF appendfsync always killed and restarted while publishing: every acknowledged event arrives once, in order', async (t) => {
  const redis = await startRedisServer({ aof: true })
  t.after(() => redis.stop())
  const [a, b, c] = (await startHubs(redis.url, 3, t)) as [ServeProcess, ServeProcess, ServeProcess]
  const onC = await openStream(c.url, '/events?topic=room')
  t.after(() => onC.close())

  const acked: string[] = []
  let refused = 0
  let running = true
  const publisher = (async () => {
    for (let i = 0; running; i++) {
      const answer = await publish((i % 2 ? a : b).url, { topic: 'room', data: `n${i}` }).catch(
        () => undefined,
      )
      if (answer?.status === 201) acked.push(answer.json().id as string)
      else {
        refused++
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
  })()
  t.after(() => {
    running = false
  })

  await eventually(() => acked.length >= 30, '30 acknowledged publishes')
  await redis.kill()
  await eventually(() => refused >= 3, 'publishes refused while Redis is down')
  const beforeRestart = acked.length
  await redis.restart()
  await eventually(
    () => acked.length >= beforeRestart + 30,
    '30 more acknowledged publishes after the restart',
  )
  running = false
  await publisher

  const last = acked.at(-1) as string
  await eventually(() => ids(onC.events).includes(last), 'the last acknowledged event on C')
  const got = ids(onC.events)
  assert.deepEqual(resets(onC.events), [])
  assert.equal(new Set(got).size, got.length, 'no event twice')
  assertIncreasing(got, 'ids on C')
  const missing = acked.filter((id) => !got.includes(id))
  assert.deepEqual(missing, [], 'every acknowledged event arrived')
  t.diagnostic(
    `${acked.length} acknowledged, ${refused} refused while Redis was down, ${got.length} delivered on C`,
  )
})
