/**
 * A library user who opens the file stores sees nothing on stderr from node:sqlite: Node 22 prints
 * "ExperimentalWarning: SQLite is an experimental feature" when the module loads, and the library
 * drops exactly that warning (any other warning still prints). Run in a real process on this Node
 * and on Node 22 from the registry, where the warning exists.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { registryNode } from '../helpers/registry-node.ts'

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

const SCRIPT = `
import { FileHistory, FileStreamStore } from 'lifeline-sse/server'
const path = process.argv[1]
const history = new FileHistory({ path })
const streams = new FileStreamStore({ history, path })
await streams.close()
await history.close()
process.emitWarning('another feature is experimental', 'ExperimentalWarning')
process.stdout.write('opened')
`

async function openStores(
  node: string,
  dir: string,
): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(node, ['--input-type=module', '-e', SCRIPT, join(dir, 'history.db')], {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_OPTIONS: '--conditions=lifeline-source' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c))
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c))
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  const [code] = (await once(child, 'exit')) as [number | null]
  clearTimeout(timer)
  return { code, out, err }
}

for (const version of ['this Node', '22']) {
  test(`the file stores print no node:sqlite ExperimentalWarning (${version}); other warnings still print`, async (t) => {
    const node = version === 'this Node' ? process.execPath : await registryNode(version)
    const dir = await mkdtemp(join(tmpdir(), 'lifeline-sqlite-warning-'))
    t.after(() => rm(dir, { recursive: true, force: true }))
    const { code, out, err } = await openStores(node, dir)
    assert.equal(code, 0, err)
    assert.equal(out, 'opened')
    assert.doesNotMatch(err, /SQLite is an experimental feature/)
    assert.match(err, /ExperimentalWarning: another feature is experimental/)
  })
}
