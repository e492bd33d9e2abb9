/** docs/errors.md lists every HTTP error code the hub answers and every LIFELINE_ERR_* code in src/. */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { HTTP_ERROR_CODES } from '../../src/hub/http-error.ts'
import { REPO_ROOT } from './serve-process.ts'

const doc = readFileSync(join(REPO_ROOT, 'docs/errors.md'), 'utf8')

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|js)$/.test(e.name) && !e.parentPath.includes('vendor'))
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
}

const src = sources(join(REPO_ROOT, 'src'))

test('every LIFELINE_ERR_* code in src/ is documented', () => {
  const codes = new Set(
    src.flatMap((text) => [...text.matchAll(/LIFELINE_ERR_[A-Z0-9_]*[A-Z0-9]/g)].map((m) => m[0])),
  )
  assert.ok(codes.size > 5)
  const missing = [...codes].filter((c) => !doc.includes(`\`${c}\``))
  assert.deepEqual(missing, [], `add these to docs/errors.md: ${missing.join(', ')}`)
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
