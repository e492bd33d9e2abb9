/**
 * Topics starting with `lifeline:` belong to the hub (the dashboard's stats stream is
 * `lifeline:dashboard`): the real `lifeline serve` refuses to publish or subscribe to them with 400
 * `reserved_topic`, refuses `lifeline:` event names with 400 `bad_event`, and still serves the
 * dashboard's own stats stream on that topic.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { http, openStream, publish, type ServeProcess, startServe } from './serve-process.ts'

describe('reserved lifeline: topics', () => {
  let hub: ServeProcess
  before(async () => {
    hub = await startServe(['--heartbeat', '300ms'])
  })
  after(async () => {
    await hub?.stop('SIGKILL')
  })

  test('POST /publish to a lifeline: topic is 400 reserved_topic, JSON and form, and nothing is delivered', async () => {
    const watcher = await openStream(hub.url, '/events?topic=plain')
    try {
      for (const topic of ['lifeline:dashboard', 'lifeline:anything', ['plain', 'lifeline:x']]) {
        const a = await publish(hub.url, { topic, data: 'nope' })
        assert.equal(a.status, 400, JSON.stringify(topic))
        assert.equal(a.headers['content-type'], 'application/json; charset=utf-8')
        assert.equal(a.json()['error'], 'reserved_topic')
        assert.match(String(a.json()['message']), /reserved for the hub/)
      }
      const form = await http(`${hub.url}/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'topic=lifeline:dashboard&data=x',
      })
      assert.equal(form.status, 400)
      assert.equal(form.json()['error'], 'reserved_topic')
      // The refused mixed publish did not reach the plain subscriber: the next event is the first.
      const ok = await publish(hub.url, { topic: 'plain', data: 'after' })
      assert.equal(ok.status, 201)
      const [first] = await watcher.waitFor(1)
      assert.equal(first!.data, 'after')
    } finally {
      watcher.close()
    }
  })

  test('GET /events on a lifeline: topic or pattern is 400 reserved_topic', async () => {
    for (const query of [
      'topic=lifeline:dashboard',
      'topic=news&topic=lifeline:dashboard',
      'topic=lifeline:/*',
    ]) {
      const a = await http(`${hub.url}/events?${query}`, { headers: { accept: 'text/event-stream' } })
      assert.equal(a.status, 400, query)
      assert.equal(a.json()['error'], 'reserved_topic', query)
    }
    // Topics that merely contain `lifeline:` further in are ordinary.
    const s = await openStream(hub.url, '/events?topic=app/lifeline:x')
    s.close()
  })

  test('event names starting with lifeline: are 400 bad_event', async () => {
    const a = await publish(hub.url, { topic: 'plain', data: 'x', event: 'lifeline:reset' })
    assert.equal(a.status, 400)
    assert.equal(a.json()['error'], 'bad_event')
  })

  test("the dashboard's own stats stream still opens on lifeline:dashboard", async () => {
    const s = await openStream(hub.url, '/dashboard/stats')
    try {
      const [frame] = await s.waitFor(1)
      assert.equal(frame!.type, 'stats')
      const list = (await http(`${hub.url}/api/connections`)).json() as {
        connections: { topics: string[] }[]
      }
      assert.ok(list.connections.some((c) => c.topics.includes('lifeline:dashboard')))
    } finally {
      s.close()
    }
  })
})
