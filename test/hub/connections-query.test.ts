/**
 * `GET /api/connections` with the dashboard's query parameters (`topic`, `sort`, `order`, `offset`,
 * `limit`) on the real `lifeline serve`: filter, sort, pages, 400 `bad_query` on bad values, and the
 * plain listing (no parameters) unchanged.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { http, openStream, publish, type ServeProcess, type SseStream, startServe } from './serve-process.ts'

interface Row {
  id: string
  userAgent: string
  topics: string[]
  eventsSent: number
}
interface Listing {
  count: number
  total: number
  offset: number
  limit: number | null
  settings: Record<string, unknown>
  connections: Row[]
}

describe('GET /api/connections query parameters', () => {
  let hub: ServeProcess
  const streams: SseStream[] = []
  const list = async (query: string): Promise<Listing> => {
    const a = await http(`${hub.url}/api/connections${query}`)
    assert.equal(a.status, 200, `${query}: ${a.body}`)
    return a.json() as unknown as Listing
  }

  before(async () => {
    hub = await startServe(['--heartbeat', '1s'])
    // q-1 and q-2 on `alpha`, q-3 and q-4 on `beta`; q-1 gets 3 events, q-2 2, q-3 and q-4 one each.
    const plan: [string, string][] = [
      ['q-1', 'alpha'],
      ['q-2', 'alpha'],
      ['q-3', 'beta'],
      ['q-4', 'beta'],
    ]
    for (const [ua, topic] of plan) {
      streams.push(await openStream(hub.url, `/events?topic=${topic}&topic=${ua}`, { 'user-agent': ua }))
    }
    for (const topic of [['alpha', 'beta'], ['alpha'], ['q-1']]) {
      assert.equal((await publish(hub.url, { topic, data: 'x' })).status, 201)
    }
    await Promise.all([
      streams[0]!.waitFor(3),
      streams[1]!.waitFor(2),
      streams[2]!.waitFor(1),
      streams[3]!.waitFor(1),
    ])
  })
  after(async () => {
    for (const s of streams) s.close()
    await hub?.stop('SIGKILL')
  })

  test('no parameters: every stream, as before, plus total/offset/limit', async () => {
    const all = await list('')
    assert.equal(all.count, 4)
    assert.equal(all.total, 4)
    assert.equal(all.offset, 0)
    assert.equal(all.limit, null)
    assert.equal(all.settings['heartbeatMs'], 1_000)
    assert.deepEqual(all.connections.map((c) => c.userAgent).sort(), ['q-1', 'q-2', 'q-3', 'q-4'])
  })

  test('topic filters, sort and order order the rows', async () => {
    const beta = await list('?topic=beta&sort=userAgent&order=asc')
    assert.equal(beta.total, 2)
    assert.equal(beta.limit, null, 'no limit given: nothing cut')
    assert.deepEqual(
      beta.connections.map((c) => c.userAgent),
      ['q-3', 'q-4'],
    )
    const byEvents = await list('?sort=events&order=desc')
    const rows = byEvents.connections.map((c) => [c.userAgent, c.eventsSent])
    assert.deepEqual(rows.slice(0, 2), [
      ['q-1', 3],
      ['q-2', 2],
    ])
    assert.deepEqual(rows.slice(2).sort(), [
      ['q-3', 1],
      ['q-4', 1],
    ])
    assert.equal(byEvents.count, 4)
  })

  test('offset and limit cut a stable page; settings stay in the answer', async () => {
    const ids = (await list('?sort=id')).connections.map((c) => c.id)
    assert.deepEqual(ids, [...ids].sort().reverse(), 'id sorts descending by default (not age)')
    const page = await list('?sort=id&order=asc&offset=1&limit=2')
    assert.equal(page.total, 4)
    assert.equal(page.offset, 1)
    assert.equal(page.limit, 2)
    assert.equal(page.count, 2)
    assert.deepEqual(
      page.connections.map((c) => c.id),
      [...ids].sort().slice(1, 3),
    )
    assert.ok('maxConnections' in page.settings)
    const past = await list('?offset=10&limit=5')
    assert.equal(past.total, 4)
    assert.equal(past.count, 0)
    assert.deepEqual(past.connections, [])
  })

  test('bad parameters answer 400 bad_query naming the parameter', async () => {
    for (const [query, name] of [
      ['?sort=nope', 'sort'],
      ['?order=up', 'order'],
      ['?offset=-1', 'offset'],
      ['?offset=1.5', 'offset'],
      ['?limit=0', 'limit'],
      ['?limit=501', 'limit'],
      ['?limit=ten', 'limit'],
    ] as const) {
      const a = await http(`${hub.url}/api/connections${query}`)
      assert.equal(a.status, 400, query)
      assert.equal(a.headers['content-type'], 'application/json; charset=utf-8')
      assert.equal(a.json()['error'], 'bad_query', query)
      assert.match(String(a.json()['message']), new RegExp(`\\b${name}=`), query)
    }
  })
})
