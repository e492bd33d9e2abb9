/**
 * Run by each package's `prepack` (npm pack / npm publish), from the package's folder: builds it and
 * copies what a user reads (the README, the LICENSE, docs/, examples/ and the proxy configurations in deploy/) from the repo root into the package, so
 * every link in them resolves inside the installed package. The copies are git-ignored, and `postpack`
 * (`--clean`) removes them again.
 */
import { execFileSync } from 'node:child_process'
import { cpSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(fileURLToPath(new URL('..', import.meta.url)))
const pkg = process.cwd()
if (resolve(pkg, '../..') !== root) throw new Error(`run from packages/<name>, not ${pkg}`)

const COPIES = ['README.md', 'LICENSE', 'CONTRIBUTING.md', 'docs', 'examples', 'deploy']
if (process.argv.includes('--clean')) {
  // postpack: the copies were for the tarball only.
  for (const name of COPIES) rmSync(join(pkg, name), { recursive: true, force: true })
  process.exit(0)
}

rmSync(join(pkg, 'dist'), { recursive: true, force: true })
execFileSync('npm', ['run', 'build'], { cwd: pkg, stdio: 'inherit' })
for (const name of ['README.md', 'LICENSE', 'CONTRIBUTING.md']) cpSync(join(root, name), join(pkg, name))
for (const folder of ['examples', 'deploy']) {
  rmSync(join(pkg, folder), { recursive: true, force: true })
  cpSync(join(root, folder), join(pkg, folder), { recursive: true })
}
rmSync(join(pkg, 'docs'), { recursive: true, force: true })
// Pages and images; not the raw benchmark data (.json), which only the repo's charts read.
cpSync(join(root, 'docs'), join(pkg, 'docs'), { recursive: true, filter: (src) => !src.endsWith('.json') })
