/** The client (packages/lifeline-sse/src/client) ships to browsers: it imports only its own files and packages/lifeline-sse/src/protocol (docs/design.md §1). */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { build } from 'esbuild'

const DIR = 'packages/lifeline-sse/src/client'

test('the client imports nothing but ./ and ../protocol/ files', () => {
  const files = readdirSync(DIR).filter((name) => name.endsWith('.ts'))
  assert.ok(files.length >= 5)
  for (const name of files) {
    const text = readFileSync(join(DIR, name), 'utf8')
    for (const match of text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/g)) {
      const spec = match[1]!
      assert.ok(/^\.\/[\w-]+\.ts$|^\.\.\/protocol\/[\w-]+\.ts$/.test(spec), `${name} imports ${spec}`)
    }
    assert.doesNotMatch(text, /\bimport\(/, `${name}: no dynamic import`)
  }
})

test('it bundles for the browser platform with no Node built-in', async () => {
  const result = await build({
    entryPoints: [join(DIR, 'index.ts')],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    metafile: true,
    logLevel: 'silent',
  })
  const inputs = Object.keys(result.metafile.inputs)
  assert.ok(
    inputs.every(
      (path) =>
        path.startsWith('packages/lifeline-sse/src/client/') ||
        path.startsWith('packages/lifeline-sse/src/protocol/'),
    ),
    `${inputs}`,
  )
})
