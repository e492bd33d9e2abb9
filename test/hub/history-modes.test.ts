/**
 * History backends behind the real `lifeline serve`: `--history-file` keeps events across a restart;
 * `--redis` runs on a real redis-server, and while Redis is down `/readyz` is 503 and `POST /publish`
 * answers 503 backend_unavailable with Retry-After (nothing acknowledged that was not stored).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { startRedisServer } from '../helpers/redis-server.ts'
import { http, openStream, publish, startServe } from './serve-process.ts'

const dir = mkdtempSync(join(tmpdir(), 'lifeline-history-'))
after(() => rmSync(dir, { recursive: true, force: true }))

async function until<T>(
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  what: string,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await read()
    if (ok(v)) return v
    if (Date.now() > deadline) throw new Error(`${what}: last ${JSON.stringify(v)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

test('--history-file: a client resumes across a hub restart', async (t) => {
  const file = join(dir, 'history.db')
  const first = await startServe(['--history-file', file])
  t.after(() => first.stop('SIGKILL'))
  const a = await publish(first.url, { topic: 'kept', data: 'one' })
  await publish(first.url, { topic: 'kept', data: 'two' })
  assert.equal(await first.stop('SIGTERM'), 0)
  const second = await startServe(['--history-file', file])
  t.after(() => second.stop('SIGKILL'))
  assert.equal(second.logs.find((l) => l.msg.startsWith('lifeline hub listening'))?.['history'], 'file')
  const s = await openStream(second.url, '/events?topic=kept', { 'last-event-id': a.json()['id'] as string })
  try {
    const [e] = await s.waitFor(1)
    assert.equal(e!.data, 'two')
  } finally {
    s.close()
  }
})

test('--redis: publish and subscribe through Redis; while it is down readiness fails and publish is 503', async (t) => {
  const redis = await startRedisServer()
  t.after(() => redis.stop())
  const hub = await startServe([
    '--redis',
    redis.url,
    '--redis-prefix',
    `test-${process.pid}:`,
    '--retry',
    '2s',
  ])
  t.after(() => hub.stop('SIGKILL'))
  assert.equal(hub.logs.find((l) => l.msg.startsWith('lifeline hub listening'))?.['history'], 'redis')
  await until(
    () => http(`${hub.url}/readyz`),
    (r) => r.status === 200,
    'ready with Redis up',
  )
  const s = await openStream(hub.url, '/events?topic=clustered')
  t.after(() => s.close())
  const p = await publish(hub.url, { topic: 'clustered', data: 'via redis' })
  assert.equal(p.status, 201)
  const [e] = await s.waitFor(1)
  assert.equal(e!.data, 'via redis')
  assert.equal(e!.lastEventId, p.json()['id'])

  await redis.kill()
  const refused = await until(
    () => publish(hub.url, { topic: 'clustered', data: 'lost?' }),
    (r) => r.status !== 201,
    'publish refused with Redis down',
  )
  assert.equal(refused.status, 503)
  assert.equal(refused.json()['error'], 'backend_unavailable')
  assert.equal(refused.headers['retry-after'], '2')
  const notReady = await until(
    () => http(`${hub.url}/readyz`),
    (r) => r.status === 503,
    'readyz 503 with Redis down',
  )
  assert.equal(notReady.json()['reason'], 'backend_unavailable')
  assert.equal((await http(`${hub.url}/healthz`)).status, 200, 'still alive')

  await redis.restart()
  await until(
    () => http(`${hub.url}/readyz`),
    (r) => r.status === 200,
    'ready again after Redis returns',
    30_000,
  )
  const back = await until(
    () => publish(hub.url, { topic: 'clustered', data: 'back' }),
    (r) => r.status === 201,
    'publish after return',
  )
  const events = await until(
    async () => s.events,
    (ev) => ev.some((x) => x.data === 'back'),
    'the stream stayed open and received the event after Redis returned',
  )
  assert.equal(events.filter((x) => x.data === 'lost?').length, 0)
  assert.equal(events.at(-1)!.lastEventId, back.json()['id'])
})
