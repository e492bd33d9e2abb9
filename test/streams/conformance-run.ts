/**
 * Runs the Durable Streams conformance kit against a base URL in a child process (vitest, as the kit's
 * own CLI does) and returns the outcome of every test by its full name.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const VITEST = join(ROOT, 'node_modules/vitest/vitest.mjs')
const CONFIG = join(ROOT, 'test/streams/conformance.vitest.config.mjs')
/** The kit takes ~35 s on a quiet machine; leave room for a loaded one. */
const RUN_TIMEOUT_MS = 240_000

export interface ConformanceOutcome {
  readonly total: number
  readonly passed: ReadonlySet<string>
  /** Full name -> first line of the failure. */
  readonly failed: ReadonlyMap<string, string>
  readonly skipped: number
}

interface JsonReport {
  testResults: { assertionResults: { fullName: string; status: string; failureMessages?: string[] }[] }[]
}

export async function runConformance(baseUrl: string): Promise<ConformanceOutcome> {
  const dir = await mkdtemp(join(tmpdir(), 'lifeline-conformance-'))
  const out = join(dir, 'report.json')
  try {
    const child = spawn(
      process.execPath,
      [VITEST, 'run', '--config', CONFIG, '--no-coverage', '--reporter=json', `--outputFile=${out}`],
      {
        cwd: ROOT,
        env: { ...process.env, CONFORMANCE_TEST_URL: baseUrl, FORCE_COLOR: '0' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    )
    let stderr = ''
    child.stderr?.setEncoding('utf8').on('data', (s: string) => {
      if (stderr.length < 20_000) stderr += s
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS)
    await once(child, 'exit')
    clearTimeout(timer)
    let report: JsonReport
    try {
      report = JSON.parse(await readFile(out, 'utf8')) as JsonReport
    } catch {
      throw new Error(`the conformance kit wrote no report; its stderr:\n${stderr.slice(-4_000)}`)
    }
    const passed = new Set<string>()
    const failed = new Map<string, string>()
    let total = 0
    let skipped = 0
    for (const file of report.testResults) {
      for (const t of file.assertionResults) {
        total++
        if (t.status === 'passed') passed.add(t.fullName)
        else if (t.status === 'failed') failed.set(t.fullName, failureSummary(t.failureMessages))
        else skipped++
      }
    }
    return { total, passed, failed, skipped }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Failures listed here are explained in docs/streams.md; any other failure fails the test. */
export const KNOWN_FAILURES: ReadonlyMap<string, string> = new Map([])

export function describeFailures(failed: ReadonlyMap<string, string>): string {
  return [...failed].map(([name, why]) => `  ${name}: ${why}`).join('\n')
}

/** The failure's first line and, for a network error, its cause (`fetch failed` alone says little). */
function failureSummary(messages: string[] | undefined): string {
  const text = (messages ?? [''])[0] ?? ''
  const lines = text.split('\n')
  const cause = lines.find((l) => /cause|ECONN|EPIPE|socket|closed/i.test(l))
  return cause === undefined || cause === lines[0] ? (lines[0] ?? '') : `${lines[0]} (${cause.trim()})`
}
