/** The file store (node:sqlite) through the one History contract (history-contract.ts), and reopening. */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { FileHistory } from '../../packages/lifeline-sse/src/server/history/file-history.ts'
import type {
  History,
  ReadAfterResult,
  StoredEvent,
} from '../../packages/lifeline-sse/src/server/history/history.ts'
import { historyContract } from './history-contract.ts'

const dir = mkdtempSync(join(tmpdir(), 'lifeline-history-'))
let files = 0
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))

historyContract({
  name: 'file',
  make: (options) => FileHistory.open({ ...options, path: join(dir, `h${files++}.db`) }),
  exactRetention: true,
  deliversInsideAppend: true,
  epochIds: true,
})

const all = () => true

async function appendN(h: History, n: number): Promise<StoredEvent[]> {
  const out: StoredEvent[] = []
  for (let i = 0; i < n; i++) out.push(await h.append(['a'], { data: `d${i}` }))
  return out
}

function ids(r: ReadAfterResult): string[] {
  assert.equal(r.kind, 'events')
  return r.kind === 'events' ? r.events.map((e) => e.id) : []
}

test('file: reopening keeps events, ids and the epoch', async () => {
  const path = join(dir, 'reopen.db')
  let h = new FileHistory({ path })
  const before = await appendN(h, 5)
  await h.close()
  h = new FileHistory({ path })
  try {
    assert.equal(h.size(), 5)
    assert.equal(h.lastId(), before.at(-1)!.id)
    assert.deepEqual(
      ids(await h.readAfter(before[1]!.id, all)),
      before.slice(2).map((e) => e.id),
    )
    const after = await appendN(h, 2)
    assert.ok(h.compare(before.at(-1)!.id, after[0]!.id) < 0)
    assert.deepEqual(
      ids(await h.readAfter(before[4]!.id, all)),
      after.map((e) => e.id),
    )
  } finally {
    await h.close()
  }
})

test('file: reopening with a smaller maxEvents trims at once', async () => {
  const path = join(dir, 'shrink.db')
  let h = new FileHistory({ path })
  const evs = await appendN(h, 10)
  await h.close()
  h = new FileHistory({ path, maxEvents: 3 })
  try {
    assert.equal(h.size(), 3)
    assert.deepEqual(await h.readAfter(evs[5]!.id, all), { kind: 'reset', reason: 'expired' })
    assert.deepEqual(
      ids(await h.readAfter(evs[6]!.id, all)),
      evs.slice(7).map((e) => e.id),
    )
  } finally {
    await h.close()
  }
})
