/**
 * Client bundle size: what the browser downloads for a reconnecting EventSource. Lifeline's client
 * against the `eventsource` npm package and `@microsoft/fetch-event-source`, measured the same way.
 *
 *   npx node bench/client-size.bench.ts
 *
 * Method: for each library, a one-line entry that imports its public client (so tree-shaking keeps
 * what a user keeps), bundled by esbuild (bundle, minify, ESM, platform browser, target es2022, every
 * dependency inlined), then compressed with gzip level 9 and brotli quality 11 (node:zlib). Sizes are
 * bytes of those outputs; ratios are against Lifeline's EventSource. Goal: Lifeline < 4 KiB gzip.
 * Deterministic: the same inputs give the same bytes on every run (no timing involved).
 */
import { readFileSync } from 'node:fs'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { machineLine } from './lib/machine.ts'

const ESBUILD = JSON.parse(readFileSync('node_modules/esbuild/package.json', 'utf8')).version as string
const version = (pkg: string) =>
  JSON.parse(readFileSync(`node_modules/${pkg}/package.json`, 'utf8')).version as string

interface Entry {
  name: string
  contents: string
}

const ENTRIES: Entry[] = [
  {
    name: 'lifeline-sse/client: EventSource only',
    contents: "export { LifelineEventSource } from './packages/lifeline-sse/src/client/index.ts'",
  },
  {
    name: 'lifeline-sse/client: everything (EventSource, subscribe, stores)',
    contents:
      'export { ClientErrorEvent, EventSource, localStorageStore, memoryStore, reconnectDelay, StateChangeEvent, ' +
      "subscribe } from './packages/lifeline-sse/src/client/index.ts'",
  },
  { name: `eventsource ${version('eventsource')}`, contents: "export { EventSource } from 'eventsource'" },
  {
    name: `@microsoft/fetch-event-source ${version('@microsoft/fetch-event-source')}`,
    contents: "export { fetchEventSource } from '@microsoft/fetch-event-source'",
  },
]

interface Row {
  name: string
  minified: number
  gzip: number
  brotli: number
}

async function measure(entry: Entry): Promise<Row> {
  const result = await build({
    stdin: { contents: entry.contents, resolveDir: process.cwd(), loader: 'ts', sourcefile: 'entry.ts' },
    bundle: true,
    minify: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    legalComments: 'none',
    logLevel: 'silent',
  })
  const code = result.outputFiles[0]!.contents
  return {
    name: entry.name,
    minified: code.byteLength,
    gzip: gzipSync(code, { level: 9 }).byteLength,
    brotli: brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).byteLength,
  }
}

const rows: Row[] = []
for (const entry of ENTRIES) rows.push(await measure(entry))
const base = rows[0]!

console.log(machineLine())
console.log(`esbuild ${ESBUILD}: bundle, minify, esm, platform browser, target es2022; gzip -9, brotli q11`)
console.log('')
console.log('| bundle | minified | gzip | brotli | gzip vs Lifeline |')
console.log('| --- | ---: | ---: | ---: | ---: |')
for (const row of rows) {
  const ratio = (row.gzip / base.gzip).toFixed(2)
  console.log(`| ${row.name} | ${row.minified} B | ${row.gzip} B | ${row.brotli} B | ${ratio}x |`)
}
console.log('')
const goal = 4096
console.log(
  `goal: Lifeline EventSource gzip < ${goal} B: ${base.gzip < goal ? 'met' : 'NOT met'} (${base.gzip} B)`,
)
