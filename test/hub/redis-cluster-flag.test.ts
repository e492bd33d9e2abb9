/**
 * `--redis-cluster` (env `LIFELINE_REDIS_CLUSTER`, file key `redisCluster`): parsed like every setting,
 * refused without `--redis`, and end to end the real `lifeline serve` talks to a single-node Redis
 * Cluster through the cluster client (it asks the node for its slot map) and delivers a published event.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import {
  ConfigError,
  configWithDefaults,
  resolveConfig,
} from '../../packages/lifeline-hub/src/app/config-resolve.ts'
import { startRedisCluster } from '../helpers/redis-server.ts'
import { http, openStream, publish, startServe } from './serve-process.ts'

const SEED = 'redis://127.0.0.1:6379'
const DEADLINE_MS = 15_000

const dir = mkdtempSync(join(tmpdir(), 'lifeline-redis-cluster-'))
after(() => rmSync(dir, { recursive: true, force: true }))

test('--redis-cluster is off by default and on from the flag, the environment or the config file', () => {
  assert.equal(configWithDefaults().redisCluster, false)
  assert.equal(resolveConfig({ env: { LIFELINE_REDIS_URL: SEED } }).redisCluster, false)
  assert.equal(resolveConfig({ flags: { redis: SEED, redisCluster: true } }).redisCluster, true)
  for (const [word, value] of [
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
    ['TRUE', true],
  ] as const) {
    const c = resolveConfig({ env: { LIFELINE_REDIS_URL: SEED, LIFELINE_REDIS_CLUSTER: word } })
    assert.equal(c.redisCluster, value, `env ${word}`)
  }
  const file = join(dir, 'cluster.json')
  writeFileSync(file, JSON.stringify({ redis: SEED, redisCluster: true }))
  assert.equal(resolveConfig({ env: {}, configFile: file }).redisCluster, true)
  writeFileSync(file, JSON.stringify({ redis: SEED, redisCluster: 'false' }))
  assert.equal(resolveConfig({ env: {}, configFile: file }).redisCluster, false)
  // The environment beats the file.
  writeFileSync(file, JSON.stringify({ redis: SEED, redisCluster: false }))
  assert.equal(resolveConfig({ env: { LIFELINE_REDIS_CLUSTER: '1' }, configFile: file }).redisCluster, true)
})

test('--redis-cluster rejects other spellings and is refused without --redis', () => {
  assert.throws(
    () => resolveConfig({ env: { LIFELINE_REDIS_URL: SEED, LIFELINE_REDIS_CLUSTER: 'yes' } }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.code === 'LIFELINE_ERR_CONFIG_INVALID' &&
      /--redis-cluster \(from LIFELINE_REDIS_CLUSTER\): "yes" is not a boolean/.test(err.message),
  )
  const file = join(dir, 'bad.json')
  writeFileSync(file, JSON.stringify({ redis: SEED, redisCluster: 2 }))
  assert.throws(() => resolveConfig({ env: {}, configFile: file }), /--redis-cluster .*is not a boolean/)
  for (const sources of [
    { flags: { redisCluster: true }, env: {} },
    { env: { LIFELINE_REDIS_CLUSTER: 'true' } },
  ]) {
    assert.throws(
      () => resolveConfig(sources),
      (err: unknown) =>
        err instanceof ConfigError && /--redis-cluster: it needs --redis <url>/.test(err.message),
    )
  }
  // Turned off explicitly, it needs nothing.
  assert.equal(resolveConfig({ env: { LIFELINE_REDIS_CLUSTER: '0' } }).redisCluster, false)
})

/** Sums the calls of `CLUSTER SLOTS`/`CLUSTER SHARDS` in `INFO commandstats` (what a cluster client asks). */
function slotMapCalls(info: string): number {
  let calls = 0
  for (const m of info.matchAll(/^cmdstat_cluster\|(?:slots|shards|nodes):calls=(\d+)/gm))
    calls += Number(m[1])
  return calls
}

test('lifeline serve --redis <seed> --redis-cluster publishes and delivers through a Redis Cluster', async (t) => {
  // The hub's readiness deadline below counts from here, before the cluster comes up.
  const deadline = Date.now() + DEADLINE_MS
  const redis = await startRedisCluster(DEADLINE_MS)
  t.after(() => redis.stop())
  assert.equal(slotMapCalls(await redis.command('INFO commandstats')), 0, 'no slot map asked yet')

  const hub = await startServe(['--redis', redis.url, '--redis-cluster', '--redis-prefix', 'flag:'])
  t.after(() => hub.stop('SIGKILL'))
  for (;;) {
    if ((await http(`${hub.url}/readyz`)).status === 200) break
    assert.ok(Date.now() < deadline + DEADLINE_MS, `hub ready in time; stderr: ${hub.stderr().slice(-300)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  // The cluster client (not a plain one) is in use: it fetched the slot map from the seed node.
  assert.ok(slotMapCalls(await redis.command('INFO commandstats')) > 0, 'the hub asked for the slot map')

  const s = await openStream(hub.url, '/events?topic=sharded')
  t.after(() => s.close())
  const p = await publish(hub.url, { topic: 'sharded', data: 'via cluster' })
  assert.equal(p.status, 201)
  const [e] = await s.waitFor(1, DEADLINE_MS)
  assert.equal(e!.data, 'via cluster')
  assert.equal(e!.lastEventId, p.json()['id'])
  // The event sits in the cluster's stream under the configured prefix.
  assert.match(await redis.command('XLEN flag:{stream}'), /^:1\r\n/)
})
