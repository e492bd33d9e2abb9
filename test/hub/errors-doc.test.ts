/** docs/errors.md lists every HTTP error code the hub answers and every LIFELINE_ERR_* code, both ways. */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { HTTP_ERROR_CODES } from '../../packages/lifeline-hub/src/shared/http-error.ts'
import { LIFELINE_ERRORS } from '../../packages/lifeline-sse/src/protocol/errors.ts'
import { REPO_ROOT } from './serve-process.ts'

const doc = readFileSync(join(REPO_ROOT, 'docs/errors.md'), 'utf8')

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|js)$/.test(e.name) && !e.parentPath.includes('vendor'))
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
}

const src = [
  ...sources(join(REPO_ROOT, 'packages/lifeline-sse/src')),
  ...sources(join(REPO_ROOT, 'packages/lifeline-hub/src')),
]

test('every LIFELINE_ERR_* code is in the table and on this page, with its HTTP meaning, and no other', () => {
  const used = new Set(
    src.flatMap((text) => [...text.matchAll(/'(LIFELINE_ERR_[A-Z0-9_]*[A-Z0-9])'/g)].map((m) => m[1]!)),
  )
  assert.ok(used.size > 5)
  const table = Object.keys(LIFELINE_ERRORS)
  assert.deepEqual(
    [...used].filter((c) => !table.includes(c)),
    [],
    'codes thrown but not in LIFELINE_ERRORS (protocol/errors.ts)',
  )
  assert.deepEqual(
    table.filter((c) => !used.has(c)),
    [],
    'codes in LIFELINE_ERRORS that nothing throws: remove them',
  )
  const documented = [...doc.matchAll(/^\| `(LIFELINE_ERR_[A-Z0-9_]+)` \| (\d{3}) `([a-z_]+)` \|/gm)].map(
    (m) => ({
      code: m[1]!,
      status: Number(m[2]),
      error: m[3]!,
    }),
  )
  const missing = table.filter((c) => !documented.some((d) => d.code === c))
  assert.deepEqual(missing, [], `add these to docs/errors.md: ${missing.join(', ')}`)
  const unknown = documented.filter((d) => !table.includes(d.code)).map((d) => d.code)
  assert.deepEqual(unknown, [], `docs/errors.md lists codes that do not exist: ${unknown.join(', ')}`)
  for (const d of documented) {
    const meaning = LIFELINE_ERRORS[d.code as keyof typeof LIFELINE_ERRORS]
    assert.deepEqual({ status: d.status, error: d.error }, { ...meaning }, d.code)
  }
})

test('the check above can fail: a page without a code, or with a made-up one, is caught', () => {
  const rows = [...doc.matchAll(/^\| `(LIFELINE_ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!)
  assert.ok(rows.includes('LIFELINE_ERR_TOPIC_INVALID'))
  assert.ok(!rows.includes('LIFELINE_ERR_MADE_UP'))
  assert.ok(!Object.keys(LIFELINE_ERRORS).includes('LIFELINE_ERR_MADE_UP'))
})

test('every HTTP error code is documented with its status', () => {
  // The hub's own codes, plus JSON bodies written elsewhere (`error: 'code'`, e.g. admission rejections).
  // `error` alone is a close reason and log level, not an HTTP code.
  const written = src
    .flatMap((text) => [...text.matchAll(/error: '([a-z_]+)'/g)].map((m) => m[1]!))
    .filter((c) => c !== 'error')
  const codes = new Set([...Object.keys(HTTP_ERROR_CODES), ...written])
  const missing = [...codes].filter((c) => !new RegExp(`\\| \\d{3} \\| \`${c}\` \\|`).test(doc))
  assert.deepEqual(missing, [], `add these to the HTTP table of docs/errors.md: ${missing.join(', ')}`)
  for (const [code, status] of Object.entries(HTTP_ERROR_CODES)) {
    assert.match(doc, new RegExp(`\\| ${status} \\| \`${code}\` \\|`), code)
  }
})
