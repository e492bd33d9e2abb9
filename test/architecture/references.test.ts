/**
 * Every reference a reader can follow resolves in a clone: no pointer to text outside the repo (a
 * design file or an issue number), no relative markdown link to a missing file, no repo path named in
 * a comment that is not there, no `docs/design.md §N` without that section. Renames break these
 * silently; this test names the file and line of each one.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** Folders and files whose text is read. */
const SCANNED = [
  'packages',
  'test',
  'docs',
  'bench',
  'examples',
  'scripts',
  'deploy',
  'README.md',
  'CONTRIBUTING.md',
]
const TEXT = /\.(ts|mts|mjs|js|md|sh|json|yml|yaml|conf|cfg|go|html|css)$/

/**
 * Text no clone can follow: the design file that lived outside the repo (`DESIGN.md`, `DESIGN §4`)
 * and issue numbers ("issue 14", "issues #3"). Built from parts so this file does not match itself.
 */
const OUTSIDE = new RegExp(
  ['DESIGN(?:\\.md|\\s*§)', '\\b[Ii]ssues?\\s+#?\\d', '\\.\\./shared/[A-Z]+\\.md'].join('|'),
)

/** `[text](target)` and `![alt](target)`, with an optional title. */
const MD_LINK = /!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g
/** `[label]: target` reference definitions. */
const MD_DEFINITION = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm

/**
 * A repo path named in code or prose: `docs/x.md`, `test/a/b.test.ts`, `packages/.../y.ts`, or
 * `src/server/hub.ts` (inside one of the packages).
 */
const REPO_PATH =
  /(?<![\w./-])((?:docs|test|bench|packages|examples|scripts|deploy|src)\/[\w.-]+(?:\/[\w.-]+)*\.(?:md|ts|json|sh|mjs|txt|go))\b/g
/** `docs/design.md §N` (or `design.md §N` in docs). */
const DESIGN_SECTION = /design\.md\)?\s+§(\d+)/g

export interface Finding {
  readonly file: string
  readonly line: number
  readonly problem: string
}

function lineOf(text: string, index: number): number {
  let line = 1
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++
  return line
}

/** Markdown with fenced blocks and inline code blanked (same length: line numbers stay right). */
function proseOnly(markdown: string): string {
  const blank = (s: string) => s.replace(/[^\n]/g, ' ')
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, blank).replace(/`[^`\n]*`/g, blank)
}

/** Outside references in any text file. */
export function outsideReferences(file: string, text: string): Finding[] {
  const out: Finding[] = []
  const re = new RegExp(OUTSIDE.source, 'g')
  for (const m of text.matchAll(re)) {
    out.push({ file, line: lineOf(text, m.index), problem: `"${m[0]}" does not resolve in a clone` })
  }
  return out
}

/** Relative links of a markdown file (at `file`, relative to the repo root) whose target is missing. */
export function brokenLinks(file: string, markdown: string, exists: (path: string) => boolean): Finding[] {
  const out: Finding[] = []
  const text = proseOnly(markdown)
  for (const re of [MD_LINK, MD_DEFINITION]) {
    for (const m of text.matchAll(re)) {
      const target = m[1] as string
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#') || target.startsWith('/')) continue
      const path = decodeURIComponent(target.replace(/[#?].*$/, ''))
      if (path === '') continue
      const resolved = join(dirname(file), path)
      if (!exists(resolved)) {
        out.push({
          file,
          line: lineOf(text, m.index),
          problem: `link to ${target}: ${resolved} does not exist`,
        })
      }
    }
  }
  return out
}

/** Repo paths named in a file that do not exist, and `design.md §N` sections design.md lacks. */
export function brokenPaths(
  file: string,
  text: string,
  exists: (path: string) => boolean,
  designSections: ReadonlySet<string>,
): Finding[] {
  const out: Finding[] = []
  for (const m of text.matchAll(REPO_PATH)) {
    const path = m[1] as string
    // A path with a placeholder or glob (`test/x/y.test.ts` in a how-to) is not a reference.
    if (/[*<>]|\/x\/|\/y\./.test(path)) continue
    if (!exists(path)) out.push({ file, line: lineOf(text, m.index), problem: `${path} does not exist` })
  }
  for (const m of text.matchAll(DESIGN_SECTION)) {
    if (!designSections.has(m[1] as string)) {
      out.push({ file, line: lineOf(text, m.index), problem: `docs/design.md has no §${m[1]}` })
    }
  }
  return out
}

/** What the repo holds (tracked files): not build output or the copies `npm pack` makes in packages/. */
function tracked(paths: readonly string[]): string[] {
  const out = execFileSync('git', ['ls-files', '-z', '--', ...paths], { cwd: root, encoding: 'utf8' })
  return out.split('\0').filter((path) => path !== '' && TEXT.test(path) && existsSync(join(root, path)))
}

const self = relative(root, fileURLToPath(import.meta.url))
const files: string[] = tracked(SCANNED)
const PACKAGES = ['packages/lifeline-sse', 'packages/lifeline-hub']
const existsInRepo = (path: string) =>
  existsSync(join(root, path)) ||
  (path.startsWith('src/') && PACKAGES.some((p) => existsSync(join(root, p, path))))
const designSections = new Set(
  [...readFileSync(join(root, 'docs/design.md'), 'utf8').matchAll(/^#{1,6}\s+§(\d+)/gm)].map(
    (m) => m[1] as string,
  ),
)

function report(findings: Finding[]): string {
  return findings.map((f) => `${f.file}:${f.line}: ${f.problem}`).join('\n')
}

test('the scanners find what they are for (so the repo-wide checks can fail)', () => {
  const sample = ['See DESIGN.md §2 and', 'DESIGN §4, per issue 14 and issues #3.', 'Fine: tissue 4.'].join(
    '\n',
  )
  assert.deepEqual(
    outsideReferences('a.ts', sample).map((f) => f.line),
    [1, 2, 2, 2],
  )
  const md = [
    '[ok](server.md) [gone](nothing.md#x) ![img](img/none.png) [web](https://x.y) [here](#top)',
    '```',
    '[in code](missing.md)',
    '```',
    '`[inline](missing.md)`',
    '[ref]: ../README.md',
    '[bad-ref]: ./absent.md',
  ].join('\n')
  const present = new Set(['docs/server.md', 'README.md'])
  assert.deepEqual(
    brokenLinks('docs/a.md', md, (p) => present.has(p)).map((f) => [f.line, f.problem.split(':')[0]]),
    [
      [1, 'link to nothing.md#x'],
      [1, 'link to img/none.png'],
      [7, 'link to ./absent.md'],
    ],
  )
  const code = '// see docs/server.md, docs/gone.md and docs/design.md §2, docs/design.md §42\n'
  assert.deepEqual(
    brokenPaths('a.ts', code, (p) => present.has(p) || p === 'docs/design.md', new Set(['2'])).map(
      (f) => f.problem,
    ),
    ['docs/gone.md does not exist', 'docs/design.md has no §42'],
  )
})

test('no text points outside the repo (a design file, an issue number)', () => {
  const findings = files
    .filter((f) => f !== self)
    .flatMap((f) => outsideReferences(f, readFileSync(join(root, f), 'utf8')))
  assert.equal(findings.length, 0, `say what is meant instead:\n${report(findings)}`)
})

test('every relative link in the README, CONTRIBUTING and docs points at a file that exists', () => {
  const markdown = files.filter((f) => f.endsWith('.md'))
  assert.ok(markdown.includes('README.md') && markdown.includes('docs/design.md'), 'the docs are scanned')
  const findings = markdown.flatMap((f) => brokenLinks(f, readFileSync(join(root, f), 'utf8'), existsInRepo))
  assert.equal(findings.length, 0, report(findings))
})

test('every repo path and design section named in code, tests and docs exists', () => {
  assert.ok(designSections.size >= 5, 'docs/design.md has numbered sections')
  const named = files.reduce(
    (n, f) => n + [...readFileSync(join(root, f), 'utf8').matchAll(REPO_PATH)].length,
    0,
  )
  assert.ok(named > 50, `repo paths are found in the text (${named})`)
  const findings = files
    .filter((f) => f !== self)
    .flatMap((f) => brokenPaths(f, readFileSync(join(root, f), 'utf8'), existsInRepo, designSections))
  assert.equal(findings.length, 0, report(findings))
})
