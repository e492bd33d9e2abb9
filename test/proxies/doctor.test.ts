/**
 * `lifeline doctor` against a small local SSE server whose faults reproduce misconfigured proxies:
 * every check passes on a good stream, and each fault fails exactly the check that names it.
 * (test/proxies/nginx.test.ts runs the doctor through a real nginx, good and misconfigured.)
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { describe, test } from 'node:test'
import type { CheckResult } from '../../packages/lifeline-hub/src/doctor/checks.ts'
import { type DoctorReport, runDoctor } from '../../packages/lifeline-hub/src/doctor/doctor.ts'
import { type FixtureOptions, startFixture } from './sse-fixture.ts'

const WATCH_MS = 1_500
const HEARTBEAT_MS = 300

function verdicts(report: DoctorReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((c: CheckResult) => [c.name, c.verdict]))
}

async function doctorOn(t: { after: (fn: () => Promise<void>) => void }, options: FixtureOptions) {
  const fixture = await startFixture(options)
  t.after(() => fixture.close())
  return runDoctor({ url: `${fixture.url}/events`, watchMs: WATCH_MS, deliveryTimeoutMs: 2_000 })
}

describe('lifeline doctor against a local SSE server', () => {
  test('every check passes on a well-behaved stream', async (t) => {
    const report = await doctorOn(t, { heartbeatMs: HEARTBEAT_MS })
    assert.deepEqual(verdicts(report), {
      status: 'pass',
      'content-type': 'pass',
      caching: 'pass',
      compression: 'pass',
      'first-bytes': 'pass',
      delivery: 'pass',
      resume: 'pass',
      heartbeat: 'pass',
      'idle-timeout': 'pass',
    })
    assert.equal(report.ok, true)
    const heartbeat = report.checks.find((c) => c.name === 'heartbeat')
    assert.match(heartbeat?.detail ?? '', /about every 0\.[2-4] s/)
  })

  test('a buffering path fails first-bytes and delivery, with the buffering fix', async (t) => {
    const report = await doctorOn(t, { heartbeatMs: 0, bufferBytes: 4096 })
    const v = verdicts(report)
    assert.equal(v['first-bytes'], 'fail')
    assert.equal(v.delivery, 'fail')
    assert.equal(report.ok, false)
    assert.match(report.checks.find((c) => c.name === 'delivery')?.fix ?? '', /proxy_buffering off/)
  })

  test('a compressed stream without Cache-Control fails compression and caching', async (t) => {
    const report = await doctorOn(t, { heartbeatMs: HEARTBEAT_MS, gzip: true, noCache: false })
    const v = verdicts(report)
    assert.equal(v.compression, 'fail')
    assert.equal(v.caching, 'fail')
    // The probe decompresses as a browser would, so the events themselves still arrive.
    assert.equal(v.delivery, 'pass')
  })

  test('a stream without heartbeats cut by an idle timeout fails heartbeat and names the timeout', async (t) => {
    const report = await doctorOn(t, { heartbeatMs: 0, idleCutMs: 800 })
    const v = verdicts(report)
    assert.equal(v.heartbeat, 'fail')
    assert.equal(v['idle-timeout'], 'fail')
    const idle = report.checks.find((c) => c.name === 'idle-timeout')
    assert.match(idle?.detail ?? '', /idle timeout of about 0\.[7-9] s/)
  })

  test('a node that does not know the Last-Event-ID fails resume with the history fix', async (t) => {
    const report = await doctorOn(t, { heartbeatMs: HEARTBEAT_MS, forgetHistory: true })
    const resume = report.checks.find((c) => c.name === 'resume')
    assert.equal(resume?.verdict, 'fail')
    assert.match(resume?.fix ?? '', /--redis/)
  })

  test('the CLI command prints a verdict per check and exits 1 when one fails', async (t) => {
    const fixture = await startFixture({ heartbeatMs: 0, noCache: false })
    t.after(() => fixture.close())
    const script = [
      "import { doctorCommand } from './packages/lifeline-hub/src/cli/doctor.ts'",
      'await doctorCommand().parseAsync(process.argv.slice(1), { from: "user" })',
    ].join('\n')
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', script, `${fixture.url}/events`, '--watch', '1s'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.stderr.on('data', (chunk) => (out += chunk))
    const [code] = await once(child, 'exit')
    assert.equal(code, 1, out)
    // The header names the URL the checks open, with the doctor's topic, not only the one typed.
    assert.equal(
      out.split('\n')[0],
      `lifeline doctor ${fixture.url}/events?topic=lifeline-doctor (watching 1 s)`,
    )
    assert.match(out, /FAIL {2}caching/)
    assert.match(out, /fix: send `Cache-Control: no-cache`/)
    assert.match(out, /PASS {2}delivery/)
    assert.match(out, /FAIL {2}heartbeat/)
    assert.match(out, /check(s)? failed/)
  })
})
