/**
 * The dependency arrows of docs/design.md ("Parts"), checked on every import of both packages:
 *   library (lifeline-sse): protocol <- server <- adapters, redis; protocol <- client; entry re-exports;
 *   hub (lifeline-hub): shared <- app, dashboard, loadtool, doctor <- cli, reaching the library only
 *   through its package exports. The library takes no runtime dependency; protocol and client run in
 *   browsers. A forbidden arrow fails this test with the file, the line and the rule it breaks.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const LIB = join(root, 'packages/lifeline-sse/src')
const APP = join(root, 'packages/lifeline-hub/src')

/** Library parts (package lifeline-sse) and hub parts (package lifeline-hub), by folder. */
type LibPart = 'protocol' | 'server' | 'adapters' | 'client' | 'redis' | 'entry'
type HubPart = 'shared' | 'app' | 'dashboard' | 'loadtool' | 'doctor' | 'cli'
type Part = LibPart | HubPart

/** Which parts each part may import (itself always). The hub reaches the library only by package name. */
const ALLOWED_PARTS: Record<Part, readonly Part[]> = {
  protocol: [],
  server: ['protocol'],
  adapters: ['protocol', 'server'],
  client: ['protocol'],
  redis: ['protocol', 'server'],
  // The package's export files: `lifeline-sse/server` is the core plus its adapters.
  entry: ['protocol', 'server', 'adapters', 'client', 'redis'],
  shared: ['protocol'],
  app: ['protocol', 'entry', 'client', 'redis', 'shared', 'dashboard'],
  dashboard: ['protocol', 'entry', 'client', 'shared'],
  loadtool: ['protocol', 'client', 'shared'],
  doctor: ['protocol', 'client', 'shared'],
  cli: ['protocol', 'entry', 'client', 'redis', 'shared', 'app', 'dashboard', 'loadtool', 'doctor'],
}

/** Parts that ship in the library package: no runtime package import. */
const LIBRARY: ReadonlySet<Part> = new Set(['protocol', 'server', 'adapters', 'client', 'redis', 'entry'])
/** Parts that run in browsers too: not even `node:` builtins. */
const PORTABLE: ReadonlySet<Part> = new Set(['protocol', 'client'])
/** What each export of the library package is, for imports by package name. */
const PACKAGE_EXPORTS: Readonly<Record<string, Part>> = {
  'lifeline-sse/protocol': 'protocol',
  'lifeline-sse/server': 'entry',
  'lifeline-sse/client': 'client',
  'lifeline-sse/redis': 'redis',
}
/** Optional packages a library part may load with a guarded dynamic `import()` (never required). */
const OPTIONAL_DYNAMIC = new Set(['net-keepalive', 'ioredis'])

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
  for (const base of [LIB, APP]) {
    const rel = relative(base, file)
    if (rel.startsWith('..')) continue
    const first = rel.split('/')[0]
    return first && first in ALLOWED_PARTS ? (first as Part) : undefined
  }
  return undefined
}

/** A part that is in the library package. */
const inLibrary = (file: string): boolean => !relative(LIB, file).startsWith('..')

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]))

/** The rule one import breaks, or undefined. */
function broken(from: Part, imp: Import): string | undefined {
  if (imp.specifier.startsWith('.')) {
    const target = resolve(dirname(imp.file), imp.specifier)
    if (inLibrary(imp.file) !== inLibrary(target)) {
      return `${from}/ reaches into the other package by path: import 'lifeline-sse/...' instead`
    }
    const to = partOf(target)
    if (!to) return `${from}/ imports '${imp.specifier}', which is in no part`
    if (to === from || ALLOWED_PARTS[from].includes(to)) return undefined
    return `${from}/ may not import ${to}/ (docs/design.md, "Parts")`
  }
  const exported = PACKAGE_EXPORTS[imp.specifier]
  if (exported !== undefined) {
    if (LIBRARY.has(from)) return `${from}/ is in the library: import its files by relative path`
    if (imp.typeOnly || ALLOWED_PARTS[from].includes(exported)) return undefined
    return `${from}/ may not import ${imp.specifier} (docs/design.md, "Parts")`
  }
  if (imp.specifier.startsWith('lifeline-sse')) return `'${imp.specifier}' is not an export of lifeline-sse`
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

/** Runs the rules on one synthetic import, as if `file` (`lib/...` or `hub/...`) contained it. */
function probe(
  file: string,
  specifier: string,
  how: 'value' | 'type' | 'dynamic' = 'value',
): string | undefined {
  const [pkg, ...rest] = file.split('/')
  const imp: Import = {
    file: join(pkg === 'lib' ? LIB : APP, ...rest),
    line: 1,
    specifier,
    typeOnly: how === 'type',
    dynamic: how === 'dynamic',
  }
  return broken(partOf(imp.file)!, imp)
}

/** `import(expr)` whose argument is not a string literal: the scanner could not follow it. */
function computedImports(files: readonly string[]): string[] {
  return files.flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) =>
        /\bimport\(\s*[^'"\s)]/.test(line) && !/^\s*(\*|\/\/)/.test(line)
          ? [`${relative(root, file)}:${i + 1}`]
          : [],
      ),
  )
}

const sources = [...walk(LIB), ...walk(APP)]

describe('architecture', () => {
  test('no file of either package breaks a dependency rule', () => {
    assert.ok(sources.length > 50)
    assert.deepEqual(violations(sources), [])
  })

  test('every dynamic import names its module literally (so the rules above see it)', () => {
    assert.deepEqual(computedImports(sources), [])
    assert.deepEqual(computedImports([join(root, 'test/architecture/fixture-imports.ts.txt')]).length, 1)
  })

  test('the rules refuse each forbidden arrow (the check can fail)', () => {
    assert.ok(probe('lib/client/x.ts', '../server/hub.ts'), 'client -> server')
    assert.ok(probe('lib/client/x.ts', 'node:events'), 'client -> node builtin')
    assert.ok(probe('lib/protocol/x.ts', 'node:fs'), 'protocol -> node builtin')
    assert.ok(probe('lib/server/x.ts', 'pino'), 'server -> runtime package')
    assert.ok(probe('lib/adapters/x.ts', 'fastify'), 'adapters -> runtime package')
    assert.ok(probe('lib/server/x.ts', '../../../lifeline-hub/src/app/app.ts'), 'library -> hub by path')
    assert.ok(probe('lib/server/x.ts', 'lifeline-hub'), 'library -> hub package')
    assert.ok(probe('lib/server/x.ts', 'lifeline-sse/protocol'), 'library -> itself by package name')
    assert.ok(probe('hub/app/x.ts', '../cli/main.ts'), 'app -> cli')
    assert.ok(probe('hub/app/x.ts', '../../../lifeline-sse/src/server/hub.ts'), 'hub -> library by path')
    assert.ok(probe('hub/dashboard/x.ts', '../app/app.ts'), 'dashboard -> app')
    assert.ok(probe('hub/doctor/x.ts', 'lifeline-sse/server'), 'doctor -> server')
    assert.ok(probe('hub/app/x.ts', 'lifeline-sse/server/hub.ts'), 'hub -> a non-export of lifeline-sse')
    assert.ok(probe('lib/protocol/x.ts', '../server/hub.ts'), 'protocol -> server')
    assert.ok(probe('lib/server/hub.ts', '../adapters/node.ts'), 'server core -> adapters')
  })

  test('the rules allow the arrows docs/design.md draws', () => {
    assert.equal(probe('lib/server/x.ts', 'node:net'), undefined)
    assert.equal(probe('lib/server/x.ts', '../protocol/index.ts'), undefined)
    assert.equal(probe('lib/adapters/x.ts', 'fastify', 'type'), undefined)
    assert.equal(probe('lib/server/x.ts', 'net-keepalive', 'dynamic'), undefined)
    assert.equal(probe('lib/entry/server.ts', '../adapters/node.ts'), undefined)
    assert.equal(probe('hub/app/x.ts', 'pino'), undefined)
    assert.equal(probe('hub/app/x.ts', 'lifeline-sse/server'), undefined)
    assert.equal(probe('hub/cli/x.ts', '../app/app.ts'), undefined)
  })

  test('the scanner sees static, multi-line, re-export and dynamic imports', () => {
    const file = join(root, 'test/architecture/fixture-imports.ts.txt')
    const got = importsOf(file).map(
      (i) => `${i.specifier}${i.typeOnly ? ' (type)' : ''}${i.dynamic ? ' (dynamic)' : ''}`,
    )
    assert.deepEqual(got, ['node:net', 'a (type)', 'b', 'c (type)', './d.ts', 'e (dynamic)', 'f'])
  })
})
