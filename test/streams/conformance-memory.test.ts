/**
 * The Durable Streams conformance kit against the hub's /v1/stream/ endpoint on the in-memory store,
 * and against the protocol's Node reference server (@durable-streams/server) in the same run: every
 * test the reference passes here must pass for us, and we may fail only what docs/streams.md lists.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { DurableStreamTestServer } from '@durable-streams/server'
import { type App, createApp } from '../../packages/lifeline-hub/src/app/app.ts'
import { conformanceHubConfig } from './conformance-hub.ts'
import { describeFailures, KNOWN_FAILURES, runConformance } from './conformance-run.ts'

let app: App
let reference: DurableStreamTestServer

before(async () => {
  app = await createApp(conformanceHubConfig())
  await app.listen()
  // The same long-poll wait as our hub: the reference's 30 s default outlasts the kit's 20 s test timeout.
  reference = new DurableStreamTestServer({ port: 0, host: '127.0.0.1', longPollTimeout: 3_000 })
  await reference.start()
})

after(async () => {
  await app.close()
  await reference.stop()
})

test('the conformance kit passes on the memory store every test the reference server passes', async () => {
  const [ours, theirs] = await Promise.all([runConformance(app.url as string), runConformance(reference.url)])
  assert.ok(ours.total >= 330, `the kit ran ${ours.total} tests; expected its full suite`)
  const missed = [...theirs.passed].filter((name) => !ours.passed.has(name))
  assert.deepEqual(missed, [], `passed by the reference server, failed by ours:\n${missed.join('\n')}`)
  const unexplained = new Map([...ours.failed].filter(([name]) => !KNOWN_FAILURES.has(name)))
  assert.equal(unexplained.size, 0, `failures not in docs/streams.md:\n${describeFailures(unexplained)}`)
  console.log(
    `conformance (memory): ours ${ours.passed.size}/${ours.total} passed, reference ${theirs.passed.size}/${theirs.total}`,
  )
})
