/**
 * A Node binary of another version, from the registry's `node` package (the binary for this platform
 * comes with it), for tests that must see what users of that version see. Installed once per machine
 * into the OS temp folder and reused; a concurrent install goes to its own folder and is moved into
 * place atomically, so two test files asking at once both get a complete binary.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const INSTALL_MS = 300_000

/** The path of a `node` binary matching `spec` (an npm range such as `22` or `22.12.x`). */
export async function registryNode(spec: string): Promise<string> {
  const root = join(tmpdir(), 'lifeline-test-node')
  const home = join(root, spec.replace(/[^\w.-]/g, '_'))
  const binary = join(home, 'node_modules', 'node', 'bin', 'node')
  if (existsSync(binary)) return binary
  await mkdir(root, { recursive: true })
  const work = await mkdtemp(join(root, 'install-'))
  try {
    await writeFile(join(work, 'package.json'), '{"private":true}\n')
    await run(
      'npm',
      ['install', '--no-save', '--no-audit', '--no-fund', '--prefer-offline', `node@${spec}`],
      { cwd: work, timeout: INSTALL_MS },
    )
    await rename(work, home).catch((error: NodeJS.ErrnoException) => {
      // Another install finished first: use its binary, drop this one.
      if (!existsSync(binary)) throw error
    })
  } finally {
    await rm(work, { recursive: true, force: true })
  }
  return binary
}
