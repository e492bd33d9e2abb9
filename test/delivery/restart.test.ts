/**
 * A hub with the file store (node:sqlite) is killed with SIGKILL and started again on the same file:
 * every acknowledged publish is still there, ids from before the restart resume, new ids continue the
 * same order. A real child process on a real socket.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type ChildHub, kill9, publish } from './child-hub.ts'
import { connect } from './helpers.ts'

const fixture = fileURLToPath(new URL('./fixtures/file-hub.ts', import.meta.url))

function startChild(path: string): Promise<ChildHub> {
  const child = spawn(process.execPath, [fixture, path], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error('hub child did not start within 20 s'))
    }, 20_000)
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8')
      const m = /listening (\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve({ url: `http://127.0.0.1:${m[1]}`, child })
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`hub child exited with ${code} before serving`))
    })
  })
}

function seqOf(id: string): [string, number] {
  const dash = id.lastIndexOf('-')
  return [id.slice(0, dash), Number(id.slice(dash + 1))]
}

test('restart with the file store keeps history: every acknowledged publish survives kill -9', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-restart-'))
  const path = join(dir, 'history.db')
  let hub = await startChild(path)
  t.after(async () => {
    await kill9(hub)
    rmSync(dir, { recursive: true, force: true })
  })
  const acked: string[] = []
  for (let i = 0; i < 150; i++)
    acked.push(await publish(hub.url, i % 3 === 0 ? 'other' : 'orders/1', `e${i}`))
  // Killed right after the last acknowledgement: no graceful close, no checkpoint.
  await kill9(hub)
  hub = await startChild(path)

  const mine = acked.filter((_, i) => i % 3 !== 0)
  const c = await connect(hub.url, ['orders/*'], { lastEventId: mine[0] })
  t.after(() => c.close())
  await c.waitForCount(mine.length - 1, 20_000)
  assert.deepEqual(
    c.events.map((e) => e.id),
    mine.slice(1),
  )
  assert.equal(c.events.at(-1)!.data, 'e149')

  // New ids continue after the old ones, in the same epoch.
  const next = await publish(hub.url, 'orders/1', 'after restart')
  await c.waitForCount(mine.length)
  assert.equal(c.events.at(-1)!.id, next)
  const [epochBefore, seqBefore] = seqOf(acked.at(-1)!)
  const [epochAfter, seqAfter] = seqOf(next)
  assert.equal(epochAfter, epochBefore)
  assert.equal(seqAfter, seqBefore + 1)

  // A second restart, this time resuming from the id published after the first one.
  await kill9(hub)
  hub = await startChild(path)
  const again = await connect(hub.url, ['orders/1'], { lastEventId: mine.at(-1) })
  t.after(() => again.close())
  await again.waitForCount(1, 20_000)
  assert.deepEqual(again.events[0], { type: 'message', data: 'after restart', id: next })
})
