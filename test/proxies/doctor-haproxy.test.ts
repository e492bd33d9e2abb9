/**
 * `lifeline doctor` through a real HAProxy in front of a real hub: the shipped deploy/haproxy.cfg
 * passes, and without `option http-no-delay` the doctor sees each event held after its publish was
 * acknowledged (HAProxy's MSG_MORE hold, ~200 ms) and warns with the fix.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { runDoctor } from '../../packages/lifeline-hub/src/doctor/doctor.ts'
import { type RunningHub, startHaproxy, startHub } from '../helpers/proxies.ts'

type T = { after: (fn: () => Promise<void> | void) => void }

describe('lifeline doctor through HAProxy', () => {
  let hub: RunningHub

  before(async () => {
    hub = await startHub(['--heartbeat', '500ms', '--trust-proxy', '127.0.0.1'])
  })
  after(() => hub?.close())

  async function doctorThroughHaproxy(t: T, edits: Array<[string, string]> = []) {
    const haproxy = await startHaproxy({ upstreams: [hub.address], vars: { READ_TIMEOUT: '2s' }, edits })
    t.after(() => haproxy.close())
    return runDoctor({ url: `${haproxy.url}/events`, watchMs: 1_500, deliveryTimeoutMs: 2_000 })
  }

  test('no check fails through the shipped HAProxy config', async (t) => {
    const report = await doctorThroughHaproxy(t)
    assert.deepEqual(
      report.checks.filter((c) => c.verdict === 'fail'),
      [],
    )
    assert.equal(report.ok, true)
  })

  test('without option http-no-delay the doctor sees events held after their acknowledgement', async (t) => {
    const report = await doctorThroughHaproxy(t, [['    option http-no-delay\n', '']])
    const delivery = report.checks.find((c) => c.name === 'delivery')
    assert.equal(delivery?.verdict, 'warn', delivery?.detail)
    assert.match(
      delivery?.detail ?? '',
      /ms after the hub acknowledged it: something on the path holds small writes/,
    )
    assert.match(delivery?.fix ?? '', /option http-no-delay/)
  })
})
