/**
 * The memory ring's byte cap bounds what the heap holds: V8 keeps a string with
 * any character above U+00FF at 2 bytes per character, so counting UTF-8 bytes let a history of such
 * events hold twice its cap. Measured on the real heap after a full GC.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { MemoryHistory } from '../../packages/lifeline-sse/src/server/history/memory-history.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const CAP = 16 * 1024 * 1024
const CHARS = 512 * 1024

/** A flat string as a parsed request body gives it (JSON.parse copies into a sequential string). */
function payload(first: string, i: number): string {
  return JSON.parse(JSON.stringify(`${first}${i}:${'a'.repeat(CHARS)}`)) as string
}

function heldAfterFilling(first: string): number {
  gc()
  const before = process.memoryUsage().heapUsed
  const history = new MemoryHistory({ maxBytes: CAP, ttlMs: 0 })
  for (let i = 0; i < 64; i++) void history.append(['t'], { data: payload(first, i) })
  gc()
  const held = process.memoryUsage().heapUsed - before
  assert.ok(history.size() > 0)
  return held
}

for (const [name, first] of [
  ['ASCII', 'a'],
  ['Latin-1 (é)', 'é'],
  ['one character above U+00FF (Ā)', 'Ā'],
] as const) {
  test(`the memory history's byte cap bounds the heap it holds: ${name} events`, (t) => {
    const held = heldAfterFilling(first)
    t.diagnostic(`held ${(held / 2 ** 20).toFixed(1)} MiB`)
    assert.ok(held <= CAP * 1.15, `held ${(held / 2 ** 20).toFixed(1)} MiB for a cap of ${CAP / 2 ** 20} MiB`)
  })
}
