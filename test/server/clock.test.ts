import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type ClockTarget, SweepClock } from '../../packages/lifeline-sse/src/server/clock.ts'

class Target implements ClockTarget {
  clockSlot = -1
  ticks = 0
  onTick: ((t: Target) => void) | undefined
  tick(): void {
    this.ticks++
    this.onTick?.(this)
  }
}

test('a sweep ticks every target once, also when targets leave during their own tick', () => {
  const clock = new SweepClock(1_000, () => performance.now())
  const targets = Array.from({ length: 20_000 }, () => new Target())
  for (const t of targets) clock.add(t)
  // Every third target leaves the clock while it is being ticked (a stream closing on its timeout).
  targets.forEach((t, i) => {
    if (i % 3 === 0) t.onTick = (self) => clock.delete(self)
  })
  clock.sweepNow()
  assert.ok(
    targets.every((t) => t.ticks === 1),
    'each target ticked exactly once',
  )
  assert.equal(clock.size, 20_000 - Math.ceil(20_000 / 3))
  clock.sweepNow()
  targets.forEach((t, i) => {
    assert.equal(t.ticks, i % 3 === 0 ? 1 : 2)
  })
  clock.stop()
})

test('add and delete are idempotent and keep slots consistent', () => {
  const clock = new SweepClock(1_000, () => 0)
  const [a, b, c] = [new Target(), new Target(), new Target()]
  clock.add(a)
  clock.add(a)
  clock.add(b)
  clock.add(c)
  assert.equal(clock.size, 3)
  clock.delete(a)
  clock.delete(a)
  assert.equal(clock.size, 2)
  assert.equal(a.clockSlot, -1)
  clock.sweepNow()
  assert.deepEqual([a.ticks, b.ticks, c.ticks], [0, 1, 1])
  clock.stop()
})

test('the timer sweeps more targets than one slice, then stops when none is left', async () => {
  const clock = new SweepClock(10, () => performance.now())
  const targets = Array.from({ length: 30_000 }, () => new Target())
  for (const t of targets) clock.add(t)
  const deadline = performance.now() + 10_000
  while (!targets.every((t) => t.ticks >= 2)) {
    if (performance.now() > deadline) throw new Error('not every target was swept twice within 10 s')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  for (const t of targets) clock.delete(t)
  assert.equal(clock.size, 0)
  const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
  await new Promise((resolve) => setTimeout(resolve, 50))
  const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
  assert.ok(after < before || after === 0, 'the interval was released once the clock was empty')
})
