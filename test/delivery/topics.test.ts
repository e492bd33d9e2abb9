import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LifelineError } from '../../packages/lifeline-sse/src/protocol/errors.ts'
import {
  compileMatcher,
  TopicIndex,
  validatePattern,
  validatePublishTopic,
  validateTopic,
} from '../../packages/lifeline-sse/src/server/topics.ts'

function code(fn: () => void): string | undefined {
  try {
    fn()
    return undefined
  } catch (err) {
    assert.ok(err instanceof LifelineError)
    return err.code
  }
}

test('valid topics and prefix patterns pass validation', () => {
  for (const t of ['a', 'orders', 'orders/1', 'A.b_c-d:e/f', 'x'.repeat(256), 'orders/*', 'a/b/*', '/*']) {
    validateTopic(t)
  }
  validatePublishTopic('orders/eu-1')
  validatePattern('*')
  validatePattern('orders/*')
})

test('invalid topics throw LIFELINE_ERR_TOPIC_INVALID with what to use', () => {
  for (const t of [
    '',
    'a b',
    'é',
    'a\nb',
    'x'.repeat(257),
    '*',
    'orders*',
    'a/*/b',
    'orders/**',
    '?',
    'a,b',
  ]) {
    assert.equal(
      code(() => validateTopic(t)),
      'LIFELINE_ERR_TOPIC_INVALID',
      JSON.stringify(t),
    )
  }
  assert.equal(
    code(() => validatePublishTopic('orders/*')),
    'LIFELINE_ERR_TOPIC_INVALID',
  )
  assert.equal(
    code(() => validatePattern('**')),
    'LIFELINE_ERR_TOPIC_INVALID',
  )
  assert.throws(() => validateTopic('a b'), /use 1-256 characters of A-Z a-z 0-9 \. _ - : \//)
  // A hostile, huge topic is cut in the message.
  assert.ok(code(() => validateTopic(`${'y'.repeat(100_000)} `)) !== undefined)
  assert.throws(
    () => validateTopic('\u0000'.repeat(100_000)),
    (e: Error) => e.message.length < 400,
  )
})

test('compileMatcher matches exact topics, prefixes and the * wildcard', () => {
  const m = compileMatcher(['news', 'orders/*'])
  assert.equal(m(['news']), true)
  assert.equal(m(['orders/1']), true)
  assert.equal(m(['orders/eu/7']), true)
  assert.equal(m(['orders']), false)
  assert.equal(m(['ordersx/1']), false)
  assert.equal(m(['x', 'news']), true)
  assert.equal(m(['x']), false)
  assert.equal(compileMatcher(['*'])(['anything/at/all']), true)
  assert.equal(compileMatcher(['a'])(['a']), true)
  assert.equal(compileMatcher(['a'])(['b']), false)
  assert.equal(compileMatcher(['a', 'b'])(['b']), true)
  assert.equal(compileMatcher([])(['a']), false)
})

function collect<T>(index: TopicIndex<T>, topics: string[]): T[] {
  const out: T[] = []
  index.forEachSubscriber(topics, (s) => out.push(s))
  return out
}

test('an event on several topics reaches a subscriber of several of them once', () => {
  const idx = new TopicIndex<string>()
  idx.add('both', ['a', 'b', 'a/*', '*'])
  idx.add('onlyA', ['a'])
  idx.add('onlyB', ['b'])
  idx.add('prefix', ['a/*'])
  const got = collect(idx, ['a', 'b', 'a/x'])
  assert.deepEqual(got.sort(), ['both', 'onlyA', 'onlyB', 'prefix'])
  // Again: the stamps from the previous fan-out do not hide anyone.
  assert.deepEqual(collect(idx, ['a', 'a']).sort(), ['both', 'onlyA'])
})

test('prefix patterns match by / segments, at any depth, and not the bare prefix', () => {
  const idx = new TopicIndex<string>()
  idx.add('orders', ['orders/*'])
  idx.add('eu', ['orders/eu/*'])
  assert.deepEqual(collect(idx, ['orders/eu/7']).sort(), ['eu', 'orders'])
  assert.deepEqual(collect(idx, ['orders/us']), ['orders'])
  assert.deepEqual(collect(idx, ['orders']), [])
  assert.deepEqual(collect(idx, ['ordersx/1']), [])
  assert.deepEqual(collect(idx, ['orders/eu']), ['orders'])
  assert.equal(idx.hasSubscribers(['orders/eu/1']), true)
  assert.equal(idx.hasSubscribers(['news']), false)
})

test('topic isolation: a subscriber gets only its topics', () => {
  const idx = new TopicIndex<number>()
  idx.add(1, ['a'])
  idx.add(2, ['b'])
  assert.deepEqual(collect(idx, ['a']), [1])
  assert.deepEqual(collect(idx, ['b']), [2])
  assert.deepEqual(collect(idx, ['c']), [])
})

test('remove drops a subscriber from every pattern, also during a fan-out', () => {
  const idx = new TopicIndex<string>()
  idx.add('x', ['a', 'p/*'])
  idx.add('y', ['a'])
  idx.add('z', ['a'])
  const got: string[] = []
  idx.forEachSubscriber(['a'], (s) => {
    got.push(s)
    if (s === 'x') {
      idx.remove('x')
      idx.remove('z')
    }
  })
  assert.deepEqual(got, ['x', 'y'])
  assert.deepEqual(collect(idx, ['a', 'p/1']), ['y'])
  assert.deepEqual(Object.fromEntries(idx.counts()), { a: 1 })
  idx.remove('y')
  idx.remove('nobody')
  assert.equal(idx.size, 0)
  assert.deepEqual(idx.counts().size, 0)
})

test('counts lists subscribers per pattern; add merges patterns', () => {
  const idx = new TopicIndex<string>()
  idx.add('s1', ['a', 'o/*'])
  idx.add('s2', ['a'])
  idx.add('s2', ['a', '*'])
  assert.deepEqual(Object.fromEntries(idx.counts()), { a: 2, 'o/*': 1, '*': 1 })
  assert.equal(idx.size, 2)
  assert.deepEqual(collect(idx, ['a']).sort(), ['s1', 's2'])
})
