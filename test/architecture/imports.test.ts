/**
 * The dependency arrows of DESIGN.md §1, checked on every import in src/:
 *   protocol <- server <- adapters, redis, hub <- cli;   protocol <- client.
 * Library parts (protocol, server, adapters, client) take no runtime dependency. A forbidden arrow
 * fails this test with the file, the line and the rule it breaks.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const src = join(root, 'src')

type Part = 'protocol' | 'server' | 'adapters' | 'client' | 'redis' | 'hub' | 'cli' | 'bench' | 'doctor'

/** Which parts each part may import (itself always). */
const ALLOWED_PARTS: Record<Part, readonly Part[]> = {
  protocol: [],
  server: ['protocol'],
  adapters: ['protocol', 'server'],
  client: ['protocol'],
  redis: ['protocol', 'server'],
  hub: ['protocol', 'server', 'adapters', 'client', 'redis'],
  bench: ['protocol', 'server', 'adapters', 'client'],
  doctor: ['protocol', 'client'],
  cli: ['protocol', 'server', 'adapters', 'client', 'redis', 'hub', 'bench', 'doctor'],
}

/** Parts that ship as libraries: no runtime package import, builtins only where they run on Node. */
const LIBRARY: ReadonlySet<Part> = new Set(['protocol', 'server', 'adapters', 'client'])
/** Parts that run in browsers too: not even `node:` builtins. */
const PORTABLE: ReadonlySet<Part> = new Set(['protocol', 'client'])
/**
 * The package entry of `lifeline-sse/server` re-exports the adapters (DESIGN.md §1 lists them under
 * that export). Only this barrel may point from server/ to adapters/; the core files may not.
 */
const ENTRY_REEXPORTS: Readonly<Record<string, Part>> = { 'server/index.ts': 'adapters' }
/** Optional native helpers a library part may load with a guarded dynamic `import()` (never required). */
const OPTIONAL_DYNAMIC = new Set(['net-keepalive'])

interface Import {
  file: string
  line: number
  specifier: string
  typeOnly: boolean
  dynamic: boolean
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === 'static' || name === 'vendor' ? [] : walk(path)
    return /\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts') ? [path] : []
  })
}

const STATIC_IMPORT = /^\s*(import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/
const DYNAMIC_IMPORT = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g

/** `import type {..}`, or braces where every name is marked `type`: erased at run time. */
function isTypeOnly(statement: string, typeKeyword: boolean): boolean {
  if (typeKeyword) return true
  // Only a bare brace list counts: `import X, { type A }` still loads X.
  const braces = /^\s*(?:import|export)\s*\{([^}]*)\}/.exec(statement)
  if (!braces) return false
  const names = braces[1]!
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean)
  return names.length > 0 && names.every((n) => n.startsWith('type '))
}

function importsOf(file: string): Import[] {
  const out: Import[] = []
  const lines = readFileSync(file, 'utf8').split('\n')
  for (let i = 0; i < lines.length; i++) {
    let text = lines[i]!
    // A multi-line `import {\n a,\n b } from 'x'`: join the statement up to its `from '...'`.
    if (/^\s*(import|export)\b[^'"]*\{[^}]*$/.test(text)) {
      for (let j = i + 1; j < lines.length && !/from\s+['"]/.test(text); j++) text += ` ${lines[j]!.trim()}`
    }
    const m = STATIC_IMPORT.exec(text)
    if (m)
      out.push({
        file,
        line: i + 1,
        specifier: m[3]!,
        typeOnly: isTypeOnly(text, m[2] !== undefined),
        dynamic: false,
      })
    for (const d of lines[i]!.matchAll(DYNAMIC_IMPORT)) {
      out.push({ file, line: i + 1, specifier: d[1]!, typeOnly: false, dynamic: true })
    }
  }
  return out
}

function partOf(file: string): Part | undefined {
  const first = relative(src, file).split('/')[0]
  return first && first in ALLOWED_PARTS ? (first as Part) : undefined
}

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]))

/** The rule one import breaks, or undefined. */
function broken(from: Part, imp: Import): string | undefined {
  if (imp.specifier.startsWith('.')) {
    const to = partOf(resolve(dirname(imp.file), imp.specifier))
    if (!to || to === from || ALLOWED_PARTS[from].includes(to)) return undefined
    if (ENTRY_REEXPORTS[relative(src, imp.file)] === to) return undefined
    return `${from}/ may not import ${to}/ (DESIGN.md §1)`
  }
  if (builtins.has(imp.specifier)) {
    return PORTABLE.has(from) && !imp.typeOnly ? `${from}/ runs in browsers: no Node builtins` : undefined
  }
  if (!LIBRARY.has(from) || imp.typeOnly) return undefined
  if (imp.dynamic && OPTIONAL_DYNAMIC.has(imp.specifier)) return undefined
  return `${from}/ is a library part and takes no runtime dependency`
}

function violations(files: readonly string[]): string[] {
  const found: string[] = []
  for (const file of files) {
    const from = partOf(file)
    if (!from) continue
    for (const imp of importsOf(file)) {
      const why = broken(from, imp)
      if (why) found.push(`${relative(root, imp.file)}:${imp.line} imports '${imp.specifier}': ${why}`)
    }
  }
  return found
}

/** Runs the rules on one synthetic import, as if `file` (in src/) contained it. */
function probe(
  file: string,
  specifier: string,
  how: 'value' | 'type' | 'dynamic' = 'value',
): string | undefined {
  const imp: Import = {
    file: join(src, file),
    line: 1,
    specifier,
    typeOnly: how === 'type',
    dynamic: how === 'dynamic',
  }
  return broken(partOf(imp.file)!, imp)
}

describe('architecture', () => {
  test('no file in src/ breaks a dependency rule', () => {
    assert.deepEqual(violations(walk(src)), [])
  })

  test('the rules refuse each forbidden arrow (the check can fail)', () => {
    assert.ok(probe('client/x.ts', '../server/hub.ts'), 'client -> server')
    assert.ok(probe('client/x.ts', 'node:events'), 'client -> node builtin')
    assert.ok(probe('protocol/x.ts', 'node:fs'), 'protocol -> node builtin')
    assert.ok(probe('server/x.ts', 'pino'), 'server -> runtime package')
    assert.ok(probe('adapters/x.ts', 'fastify'), 'adapters -> runtime package')
    assert.ok(probe('server/x.ts', '../hub/app.ts'), 'server -> hub')
    assert.ok(probe('server/x.ts', '../cli/main.ts'), 'server -> cli')
    assert.ok(probe('hub/x.ts', '../cli/main.ts'), 'hub -> cli')
    assert.ok(probe('protocol/x.ts', '../server/hub.ts'), 'protocol -> server')
    assert.ok(probe('server/hub.ts', '../adapters/node.ts'), 'server core -> adapters')
  })

  test('the rules allow the arrows DESIGN.md draws', () => {
    assert.equal(probe('server/x.ts', 'node:net'), undefined)
    assert.equal(probe('server/x.ts', '../protocol/index.ts'), undefined)
    assert.equal(probe('adapters/x.ts', 'fastify', 'type'), undefined)
    assert.equal(probe('server/x.ts', 'net-keepalive', 'dynamic'), undefined)
    assert.equal(probe('hub/x.ts', 'pino'), undefined)
    assert.equal(probe('cli/x.ts', '../hub/app.ts'), undefined)
    assert.equal(
      probe('server/index.ts', '../adapters/node.ts'),
      undefined,
      'the package entry re-exports adapters',
    )
  })

  test('the scanner sees static, multi-line, re-export and dynamic imports', () => {
    const file = join(root, 'test/architecture/fixture-imports.ts.txt')
    const got = importsOf(file).map(
      (i) => `${i.specifier}${i.typeOnly ? ' (type)' : ''}${i.dynamic ? ' (dynamic)' : ''}`,
    )
    assert.deepEqual(got, ['node:net', 'a (type)', 'b', 'c (type)', './d.ts', 'e (dynamic)', 'f'])
  })
})
