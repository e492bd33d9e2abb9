/**
 * The README configuration table, docs/configuration.md and `lifeline serve --help` all say what the
 * one options table in packages/lifeline-hub/src/app/config-options.ts says. To regenerate the two documents after changing the
 * table: `LIFELINE_WRITE_DOCS=1 npx node --test test/hub/config-reference.test.ts`.
 */
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import {
  CONFIG_FILE_OPTION,
  OPTIONS,
  renderConfigTable,
} from '../../packages/lifeline-hub/src/app/config-options.ts'
import { optionHelp } from '../../packages/lifeline-hub/src/cli/serve.ts'
import { REPO_ROOT, runCli } from './serve-process.ts'

const START = '<!-- config:start -->'
const END = '<!-- config:end -->'

function section(path: string): string {
  const text = readFileSync(path, 'utf8')
  const start = text.indexOf(START)
  const end = text.indexOf(END)
  assert.ok(start >= 0 && end > start, `${path} has the ${START} ... ${END} markers`)
  const expected = `${START}\n${renderConfigTable()}\n${END}`
  if (process.env['LIFELINE_WRITE_DOCS'] === '1') {
    writeFileSync(path, text.slice(0, start) + expected + text.slice(end + END.length))
    return expected
  }
  return text.slice(start, end + END.length)
}

for (const doc of ['README.md', 'docs/configuration.md']) {
  test(`${doc} holds the configuration table generated from the code`, () => {
    const path = join(REPO_ROOT, doc)
    assert.equal(section(path), `${START}\n${renderConfigTable()}\n${END}`)
  })
}

test('lifeline serve --help lists every setting with its default and env name', async () => {
  const { code, stdout } = await runCli(['serve', '--help'], {}, 45_000)
  assert.equal(code, 0)
  const flat = stdout.replace(/\s+/g, ' ')
  for (const o of [...OPTIONS, { ...CONFIG_FILE_OPTION, shown: 'none' }]) {
    assert.ok(flat.includes(`${o.flag} ${o.arg}`), `${o.flag} listed`)
    assert.ok(flat.includes(optionHelp(o)), `${o.flag} help with default and env`)
  }
})
