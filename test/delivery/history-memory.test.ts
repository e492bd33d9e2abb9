/** The memory ring through the one History contract (history-contract.ts), and what only it does. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryHistory } from '../../packages/lifeline-sse/src/server/history/memory-history.ts'
import { historyContract } from './history-contract.ts'

historyContract({
  name: 'memory',
  make: (options) => Promise.resolve(new MemoryHistory(options)),
  exactRetention: true,
  deliversInsideAppend: true,
  epochIds: true,
})

test('memory: a new instance (a restart) does not know the previous ids', async () => {
  const a = new MemoryHistory()
  const e = await a.append(['a'], { data: '1' })
  const b = new MemoryHistory()
  await b.append(['a'], { data: '1' })
  assert.deepEqual(await b.readAfter(e.id, () => true), { kind: 'reset', reason: 'unknown' })
})
