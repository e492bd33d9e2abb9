/**
 * `lifeline doctor` through a real nginx in front of a real hub: the shipped deploy/nginx.conf passes
 * every check, and two classic misconfigurations fail the checks that name them (the output of the
 * same setups at production timings is pasted in docs/doctor.md).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { DoctorReport } from '../../packages/lifeline-hub/src/doctor/doctor.ts'
import { runDoctor } from '../../packages/lifeline-hub/src/doctor/doctor.ts'
import { type RunningHub, startHub, startNginx } from '../helpers/proxies.ts'

type T = { after: (fn: () => Promise<void> | void) => void }

/** What a site-wide nginx setup often does to a stream: buffer it, and gzip text/event-stream. */
const BUFFERING_AND_GZIP: Array<[string, string]> = [
  ['proxy_buffering off;', 'proxy_buffering on; proxy_ignore_headers X-Accel-Buffering;'],
  ['gzip off;', 'gzip on; gzip_types text/event-stream;'],
]

function verdicts(report: DoctorReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((c) => [c.name, c.verdict]))
}

describe('lifeline doctor through nginx', () => {
  /** Heartbeat well under the proxy timeouts used below. */
  let fast: RunningHub
  /** Heartbeat above the 1 s read timeout of the misconfigured nginx. */
  let slow: RunningHub

  before(async () => {
    ;[fast, slow] = await Promise.all([
      startHub(['--heartbeat', '500ms', '--trust-proxy', '127.0.0.1']),
      startHub(['--heartbeat', '5s', '--trust-proxy', '127.0.0.1']),
    ])
  })
  after(() => Promise.all([fast, slow].map((h) => h?.close())))

  async function doctorThroughNginx(
    t: T,
    hub: RunningHub,
    readTimeout: string,
    edits: Array<[string, string]> = [],
    watchMs = 2_500,
  ): Promise<DoctorReport> {
    const nginx = await startNginx({ upstreams: [hub.address], vars: { READ_TIMEOUT: readTimeout }, edits })
    t.after(() => nginx.close())
    return runDoctor({
      url: `${nginx.url}/events`,
      watchMs,
      deliveryTimeoutMs: 2_000,
      connectTimeoutMs: 3_000,
    })
  }

  test('no check fails through the shipped nginx config (delivery may only warn)', async (t) => {
    const report = await doctorThroughNginx(t, fast, '2s')
    // Delivery may warn (over 250 ms) on a loaded CI machine; the test of the 100 ms bound through nginx
    // is in nginx.test.ts. Everything else must pass.
    assert.deepEqual(
      report.checks.filter((c) => c.verdict !== 'pass' && !(c.name === 'delivery' && c.verdict === 'warn')),
      [],
    )
  })

  // nginx sends no header before its first gzip block: the whole response, headers included, is held.
  test('buffering and gzip hold even the response headers back, and the fix names them', async (t) => {
    const report = await doctorThroughNginx(t, fast, '5s', BUFFERING_AND_GZIP)
    const status = report.checks.find((c) => c.name === 'status')
    assert.equal(status?.verdict, 'fail')
    assert.match(status?.detail ?? '', /no response headers within 3000 ms/)
    assert.match(status?.fix ?? '', /buffering or compression/)
    assert.equal(report.ok, false)
  })

  test('a read timeout below the heartbeat fails idle-timeout and names the timeout', async (t) => {
    const report = await doctorThroughNginx(t, slow, '1s', [], 3_000)
    const v = verdicts(report)
    assert.equal(v.delivery, 'pass')
    assert.equal(v.heartbeat, 'fail')
    assert.equal(v['idle-timeout'], 'fail')
    const idle = report.checks.find((c) => c.name === 'idle-timeout')
    // nginx moves its read timer lazily (not for changes under 300 ms), so the silence the doctor
    // measures before the cut may be a little under the configured 1 s.
    assert.match(idle?.detail ?? '', /idle timeout of about (0\.[6-9]|1\.[0-4]) s/)
  })
})
