/** `createApp` runs a hub in-process (for other parts' tests and embedders) with the same routes. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createApp } from '../../packages/lifeline-hub/src/app/app.ts'
import { createLogger } from '../../packages/lifeline-hub/src/app/logging.ts'
import { http, openStream, publish } from './serve-process.ts'

test('createApp listens on a free port, serves streams and publishes, and closes cleanly', async (t) => {
  const app = await createApp(
    { port: 0, heartbeat: 500 },
    { logger: createLogger('silent', { pretty: false }) },
  )
  const url = await app.listen()
  t.after(() => app.close())
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
  assert.equal(app.url, url)
  const s = await openStream(url, '/events?topic=inproc')
  const viaHttp = await publish(url, { topic: 'inproc', data: 'one' })
  assert.equal(viaHttp.status, 201)
  const id = await app.hub.publish('inproc', { data: 'two' })
  const events = await s.waitFor(2)
  assert.deepEqual(
    events.map((e) => [e.data, e.lastEventId]),
    [
      ['one', viaHttp.json()['id']],
      ['two', id],
    ],
  )
  assert.equal((await http(`${url}/events?topic=inproc`, { method: 'HEAD' })).status, 405)
  await app.close()
  assert.equal(await s.ended, 'end')
  assert.equal(app.draining, true)
})
