/**
 * The real hub (`lifeline serve`) restarted with SIGKILL: with `--history-file` the history and the
 * ids survive; with the default memory history the old ids are unknown (`lifeline:reset`).
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type ChildHub, kill9, publish } from './child-hub.ts'
import { connect } from './helpers.ts'

/** `lifeline serve [--history-file]` on a free port; resolves once /healthz answers. */
async function startCli(path?: string): Promise<ChildHub> {
  const port = await new Promise<number>((resolve, reject) => {
    const probe = createNetServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const p = (probe.address() as { port: number }).port
      probe.close(() => resolve(p))
    })
  })
  const cli = fileURLToPath(new URL('../../packages/lifeline-hub/src/cli/main.ts', import.meta.url))
  const child = spawn(
    process.execPath,
    [
      cli,
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--log-level',
      'warn',
      ...(path === undefined ? [] : ['--history-file', path]),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  )
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`lifeline serve exited with ${child.exitCode}`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error('lifeline serve did not answer /healthz within 30 s')
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })
      await res.body?.cancel()
      if (res.ok) return { url, child }
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

test('lifeline serve --history-file: history and ids survive kill -9 of the hub', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-restart-cli-'))
  const path = join(dir, 'history.db')
  let hub = await startCli(path)
  t.after(async () => {
    await kill9(hub)
    rmSync(dir, { recursive: true, force: true })
  })
  const acked: string[] = []
  for (let i = 0; i < 20; i++) acked.push(await publish(hub.url, 'news', `n${i}`))
  await kill9(hub)
  hub = await startCli(path)
  const c = await connect(hub.url, ['news'], { lastEventId: acked[4] })
  t.after(() => c.close())
  await c.waitForCount(15, 20_000)
  assert.deepEqual(
    c.events.map((e) => e.id),
    acked.slice(5),
  )
  assert.equal(c.events.at(-1)!.data, 'n19')
})

test('lifeline serve with the memory history: after a restart the old ids are unknown (reset)', async (t) => {
  let hub = await startCli()
  t.after(() => kill9(hub))
  const id = await publish(hub.url, 'a', 'x')
  await kill9(hub)
  hub = await startCli()
  const c = await connect(hub.url, ['a'], { lastEventId: id })
  t.after(() => c.close())
  await c.waitForCount(1, 20_000)
  assert.equal(c.events[0]!.type, 'lifeline:reset')
  assert.deepEqual(JSON.parse(c.events[0]!.data), { reason: 'unknown', lastEventId: id })
})
