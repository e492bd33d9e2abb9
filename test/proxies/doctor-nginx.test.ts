/**
 * `lifeline doctor` through a real nginx in front of a real hub: the shipped deploy/nginx.conf passes
 * every check, and two classic misconfigurations fail the checks that name them (the output of the
 * same setups at production timings is pasted in docs/doctor.md).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { DoctorReport } from '../../src/doctor/doctor.ts'
import { runDoctor } from '../../src/doctor/doctor.ts'
import { startHub, startNginx } from '../helpers/proxies.ts'

type T = { after: (fn: () => Promise<void> | void) => void }

/** What a site-wide nginx setup often does to a stream: buffer it, and gzip text/event-stream. */
export const BUFFERING_AND_GZIP: Array<[string, string]> = [
  ['proxy_buffering off;', 'proxy_buffering on; proxy_ignore_headers X-Accel-Buffering;'],
  ['gzip off;', 'gzip on; gzip_types text/event-stream;'],
]

function verdicts(report: DoctorReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((c) => [c.name, c.verdict]))
}

async function doctorThroughNginx(
  t: T,
  hubArgs: string[],
  readTimeout: string,
  edits: Array<[string, string]> = [],
  watchMs = 2_500,
): Promise<DoctorReport> {
  const hub = await startHub([...hubArgs, '--trust-proxy', '127.0.0.1'])
  t.after(() => hub.close())
  const nginx = await startNginx({ upstreams: [hub.address], vars: { READ_TIMEOUT: readTimeout }, edits })
  t.after(() => nginx.close())
  return runDoctor({ url: `${nginx.url}/events`, watchMs, deliveryTimeoutMs: 2_000, connectTimeoutMs: 3_000 })
}

describe('lifeline doctor through nginx', () => {
  test('every check passes through the shipped nginx config', async (t) => {
    const report = await doctorThroughNginx(t, ['--heartbeat', '500ms'], '2s')
    assert.deepEqual(
      report.checks.filter((c) => c.verdict !== 'pass'),
      [],
    )
  })

  // nginx sends no header before its first gzip block: the whole response, headers included, is held.
  test('buffering and gzip hold even the response headers back, and the fix names them', async (t) => {
    const report = await doctorThroughNginx(t, ['--heartbeat', '500ms'], '5s', BUFFERING_AND_GZIP)
    const status = report.checks.find((c) => c.name === 'status')
    assert.equal(status?.verdict, 'fail')
    assert.match(status?.detail ?? '', /no response headers within 3000 ms/)
    assert.match(status?.fix ?? '', /buffering or compression/)
    assert.equal(report.ok, false)
  })

  test('a read timeout below the heartbeat fails idle-timeout and names the timeout', async (t) => {
    const report = await doctorThroughNginx(t, ['--heartbeat', '5s'], '1s', [], 3_000)
    const v = verdicts(report)
    assert.equal(v.delivery, 'pass')
    assert.equal(v.heartbeat, 'fail')
    assert.equal(v['idle-timeout'], 'fail')
    const idle = report.checks.find((c) => c.name === 'idle-timeout')
    assert.match(idle?.detail ?? '', /idle timeout of about (0\.[89]|1\.[0-4]) s/)
  })
})
