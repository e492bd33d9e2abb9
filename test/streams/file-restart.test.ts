/**
 * Finite streams in the `--history-file` survive a restart: entries, offsets, the close, producer
 * state (a retry after the restart is still a duplicate) and the `/events` join.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { createApp } from '../../packages/lifeline-hub/src/app/app.ts'
import { http, openStream } from '../hub/serve-process.ts'

test('a stream in the history file keeps its entries, offsets, close and producer state across a restart', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lifeline-streams-restart-'))
  const historyFile = join(dir, 'history.db')
  const config = { port: 0, host: '127.0.0.1', logLevel: 'silent' as const, historyFile }
  const producer = { 'producer-id': 'llm-1', 'producer-epoch': '0', 'content-type': 'text/plain' }
  try {
    const first = await createApp(config)
    const base1 = await first.listen()
    const url1 = `${base1}/v1/stream/chat/1`
    assert.equal((await http(url1, { method: 'PUT', headers: { 'content-type': 'text/plain' } })).status, 201)
    assert.equal(
      (await http(url1, { method: 'POST', headers: { ...producer, 'producer-seq': '0' }, body: 'Hi' }))
        .status,
      200,
    )
    const last = await http(url1, {
      method: 'POST',
      headers: { ...producer, 'producer-seq': '1', 'stream-closed': 'true' },
      body: '!',
    })
    assert.equal(last.status, 200)
    const before = await http(`${url1}?offset=-1`)
    await first.close()

    const second = await createApp(config)
    const base2 = await second.listen()
    const url2 = `${base2}/v1/stream/chat/1`
    try {
      const after = await http(`${url2}?offset=-1`)
      assert.equal(after.status, 200)
      assert.equal(after.body, 'Hi!')
      assert.equal(after.headers['stream-next-offset'], before.headers['stream-next-offset'])
      assert.equal(after.headers['stream-closed'], 'true')
      const retry = await http(url2, {
        method: 'POST',
        headers: { ...producer, 'producer-seq': '1', 'stream-closed': 'true' },
        body: '!',
      })
      assert.equal(retry.status, 204, 'the closing append retried after a restart is a duplicate')
      const s = await openStream(base2, '/events?topic=chat/1&from=start')
      assert.equal(await s.ended, 'end')
      assert.deepEqual(
        s.events.map((e) => [e.type, e.type === 'message' ? e.data : '']),
        [
          ['message', 'Hi'],
          ['message', '!'],
          ['lifeline:end', ''],
        ],
      )
    } finally {
      await second.close()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
