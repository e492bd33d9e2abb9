/**
 * Every folder's `index.ts` in both packages opens with a comment saying what the folder is, so a
 * listing plus the index headers tell a newcomer where things live.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

function indexFiles(dir: string, into: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) indexFiles(path, into)
    else if (name === 'index.ts') into.push(path)
  }
  return into
}

/** The text of the block comment a file opens with, or undefined. */
export function header(source: string): string | undefined {
  const m = /^\/\*\*([\s\S]*?)\*\//.exec(source)
  return m?.[1]?.replace(/^\s*\*\s?/gm, '').trim()
}

test('a header is found only where a file opens with one', () => {
  assert.equal(header('/**\n * The core.\n */\nexport {}'), 'The core.')
  assert.equal(header("export { a } from './a.ts'\n/** later */"), undefined)
})

test('every index.ts of both packages opens with what its folder is', () => {
  const files = ['packages/lifeline-sse/src', 'packages/lifeline-hub/src'].flatMap((p) =>
    indexFiles(join(root, p), []),
  )
  assert.ok(files.length >= 8, `index files found (${files.length})`)
  const missing = files.filter((f) => (header(readFileSync(f, 'utf8'))?.length ?? 0) < 40)
  assert.deepEqual(
    missing.map((f) => relative(root, f)),
    [],
    'open these with a comment of a sentence or two',
  )
})
