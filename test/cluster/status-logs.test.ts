/**
 * What an operator reads in the logs of `lifeline serve --redis`: "connected" (info) once the node
 * reads Redis, and when it cannot, a warning with the reason the Redis client gave. Real processes,
 * a real redis-server on an ephemeral port.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startRedisServer } from '../helpers/redis-server.ts'
import { type LogLine, startServe } from '../hub/serve-process.ts'

const INFO = 30
const WARN = 40
const DEADLINE_MS = 20_000

const connected = (l: LogLine) => l.level === INFO && l.msg.startsWith('history backend connected')
const unreachable = (reason: RegExp) => (l: LogLine) =>
  l.level === WARN && l.msg.startsWith('history backend not reachable') && reason.test(String(l['reason']))

test('a healthy start logs "connected" once it reads Redis, and no warning about the backend', async (t) => {
  const redis = await startRedisServer()
  t.after(() => redis.stop())
  const hub = await startServe(['--redis', redis.url])
  t.after(() => hub.stop('SIGKILL'))
  const line = await hub.waitForLog(connected, DEADLINE_MS)
  assert.equal(line['redis'], redis.url)
  assert.deepEqual(
    hub.logs.filter((l) => l.level >= WARN && /history backend/.test(l.msg)),
    [],
  )
})

test('a wrong Redis port logs the reason (connect ECONNREFUSED) and never "connected"', async (t) => {
  const hub = await startServe(['--redis', 'redis://127.0.0.1:1'])
  t.after(() => hub.stop('SIGKILL'))
  const line = await hub.waitForLog(unreachable(/ECONNREFUSED 127\.0\.0\.1:1\b/), DEADLINE_MS)
  assert.match(line.msg, /ECONNREFUSED 127\.0\.0\.1:1\b/)
  assert.equal(hub.logs.find(connected), undefined)
})

test('an outage logs its reason, and the return logs "connected" again', async (t) => {
  const redis = await startRedisServer()
  t.after(() => redis.stop())
  const hub = await startServe(['--redis', redis.url])
  t.after(() => hub.stop('SIGKILL'))
  await hub.waitForLog(connected, DEADLINE_MS)
  await redis.kill()
  await hub.waitForLog(unreachable(/./), DEADLINE_MS)
  const before = hub.logs.filter(connected).length
  await redis.restart()
  await hub.waitForLog((l) => connected(l) && hub.logs.filter(connected).length > before, DEADLINE_MS)
})
