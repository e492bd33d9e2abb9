/**
 * The client's published types compile in a Node-only project: `lib: ["ES2023"]`, `types: ["node"]`,
 * `skipLibCheck: false`, no DOM lib. The declarations are emitted from src/ as the
 * build does, then a consumer that uses them is type-checked without the DOM.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { test } from 'node:test'
import ts from 'typescript'

const CONSUMER = `
import { EventSource, subscribe, type ClientErrorEvent, type LifelineResetData, RESET_EVENT } from './client/index.js'
const source = new EventSource('http://localhost:8080/events', {
  headers: { authorization: 'Bearer t' },
  lastEventIdParam: 'lastEventId',
  onComment: (text: string) => void text,
  fetch: (url, init) => fetch(url, init),
})
source.onerror = (event) => void event.error.code
source.addEventListener('error', (event: ClientErrorEvent) => void event.willRetry)
source.addEventListener(RESET_EVENT, (event) => void (JSON.parse(event.data) as LifelineResetData).reason)
for await (const event of subscribe('http://localhost:8080/events')) void event.data
`

test('the client declarations type-check in a Node-only project without the DOM lib', () => {
  const out = mkdtempSync(join(tmpdir(), 'lifeline-types-'))
  try {
    const emit = ts
      .createProgram([resolve('packages/lifeline-sse/src/client/index.ts')], {
        target: ts.ScriptTarget.ES2023,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
        types: ['node'],
        strict: true,
        declaration: true,
        emitDeclarationOnly: true,
        allowImportingTsExtensions: true,
        rewriteRelativeImportExtensions: true,
        rootDir: resolve('packages/lifeline-sse/src'),
        outDir: out,
      })
      .emit()
    assert.deepEqual(emit.diagnostics.map(String), [])
    writeFileSync(join(out, 'package.json'), '{"type": "module"}')
    writeFileSync(join(out, 'consumer.ts'), CONSUMER)
    const check = ts.createProgram([join(out, 'consumer.ts')], {
      target: ts.ScriptTarget.ES2023,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2023.d.ts'],
      types: ['node'],
      typeRoots: [resolve('node_modules/@types')],
      strict: true,
      skipLibCheck: false,
      noEmit: true,
    })
    const errors = ts
      .getPreEmitDiagnostics(check)
      .map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`)
    assert.deepEqual(errors, [])
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
})
