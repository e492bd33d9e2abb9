/**
 * The replays' shared cache of encoded events holds bytes only while replays read it: a hub whose
 * resuming clients have caught up or left keeps no encodings beyond its history.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { ReplayScheduler } from '../../packages/lifeline-sse/src/server/replay.ts'

test('encodings are shared while replays read them and dropped after a second without a read', async () => {
  const { cache } = new ReplayScheduler()
  const event = { id: 'e-1', topics: ['t'], data: 'x'.repeat(100), time: Date.now() }
  const first = cache.get(event)
  assert.equal(cache.get(event), first, 'a second replay of the same event reuses its bytes')
  assert.equal(cache.size, 1)
  await sleep(600)
  cache.get({ ...event, id: 'e-2' })
  await sleep(600)
  assert.equal(cache.size, 2, 'a read within the idle time keeps the cache')
  const deadline = Date.now() + 5_000
  while (cache.size > 0 && Date.now() < deadline) await sleep(100)
  assert.equal(cache.size, 0, 'emptied once idle')
})
