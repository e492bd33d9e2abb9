/** Settings: units, precedence (flag > env > file > default), one-line errors, trust-proxy, claim patterns. */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { patternCovers } from '../../packages/lifeline-hub/src/app/auth.ts'
import { createClientAddressResolver } from '../../packages/lifeline-hub/src/app/client-address.ts'
import { OPTIONS } from '../../packages/lifeline-hub/src/app/config-options.ts'
import {
  ConfigError,
  configWithDefaults,
  resolveConfig,
} from '../../packages/lifeline-hub/src/app/config-resolve.ts'
import type { Req } from '../../packages/lifeline-hub/src/shared/http-error.ts'
import {
  formatDuration,
  formatSize,
  parseDuration,
  parseSize,
} from '../../packages/lifeline-hub/src/shared/units.ts'

const dir = mkdtempSync(join(tmpdir(), 'lifeline-config-'))
after(() => rmSync(dir, { recursive: true, force: true }))

test('durations accept 500ms, 15s, 2m, 1h and bare milliseconds', () => {
  assert.equal(parseDuration('500ms'), 500)
  assert.equal(parseDuration('15s'), 15_000)
  assert.equal(parseDuration('2m'), 120_000)
  assert.equal(parseDuration('1h'), 3_600_000)
  assert.equal(parseDuration('250'), 250)
  assert.equal(parseDuration(1.5), 2)
  assert.equal(parseDuration('1.5s'), 1_500)
  for (const bad of ['soon', '-1s', '1d', '', '1 2s', 'NaN']) assert.equal(parseDuration(bad), undefined, bad)
  assert.equal(parseDuration(-5), undefined)
  assert.equal(formatDuration(15_000), '15s')
  assert.equal(formatDuration(1_500), '1500ms')
})

test('sizes accept 1MiB, 512KiB, 64k and bare bytes', () => {
  assert.equal(parseSize('1MiB'), 1_048_576)
  assert.equal(parseSize('512KiB'), 524_288)
  assert.equal(parseSize('64k'), 65_536)
  assert.equal(parseSize('1MB'), 1_000_000)
  assert.equal(parseSize('100'), 100)
  for (const bad of ['big', '1TiB', '-1', '']) assert.equal(parseSize(bad), undefined, bad)
  assert.equal(formatSize(1_048_576), '1MiB')
})

test('every option has a unique key, flag and env name, and its default parses', () => {
  const keys = new Set(OPTIONS.map((o) => o.key))
  const flags = new Set(OPTIONS.map((o) => o.flag))
  const envs = new Set(OPTIONS.map((o) => o.env))
  assert.equal(keys.size, OPTIONS.length)
  assert.equal(flags.size, OPTIONS.length)
  assert.equal(envs.size, OPTIONS.length)
  for (const o of OPTIONS) assert.match(o.env, /^LIFELINE_[A-Z0-9_]+$/)
  const c = configWithDefaults()
  assert.equal(c.port, 8080)
  assert.equal(c.heartbeat, 15_000)
  assert.equal(c.writeTimeout, 10_000)
  assert.equal(c.maxBuffered, 1_048_576)
  assert.equal(c.maxBody, 1_048_576)
  assert.equal(c.retry, 3_000)
  assert.equal(c.shutdownTimeout, 10_000)
  assert.equal(c.requestTimeout, 10_000)
  assert.equal(c.idleTimeout, 0)
  assert.equal(c.maxLifetime, 0)
  assert.deepEqual(c.trustProxy, [])
  assert.equal(c.redis, undefined)
  assert.equal(c.logLevel, 'info')
})

test('a flag beats the environment, which beats the config file, which beats the default', () => {
  const file = join(dir, 'hub.json')
  writeFileSync(
    file,
    JSON.stringify({ heartbeat: '1m', retry: 1500, maxBody: '2MiB', corsOrigin: ['https://a.example'] }),
  )
  const c = resolveConfig({
    flags: { heartbeat: '5s' },
    env: {
      LIFELINE_HEARTBEAT: '7s',
      LIFELINE_RETRY: '2s',
      LIFELINE_CONFIG: file,
      LIFELINE_REDIS_URL: 'redis://127.0.0.1:6379',
    },
  })
  assert.equal(c.heartbeat, 5_000)
  assert.equal(c.retry, 2_000)
  assert.equal(c.maxBody, 2_097_152)
  assert.deepEqual(c.corsOrigin, ['https://a.example'])
  assert.equal(c.redis, 'redis://127.0.0.1:6379')
  assert.equal(c.writeTimeout, 10_000)
})

test('lists split on commas and repeat', () => {
  const c = resolveConfig({
    flags: { trustProxy: ['10.0.0.0/8, 127.0.0.1', '::1'] },
    env: { LIFELINE_CORS_ORIGIN: 'https://a.example,https://b.example' },
  })
  assert.deepEqual(c.trustProxy, ['10.0.0.0/8', '127.0.0.1', '::1'])
  assert.deepEqual(c.corsOrigin, ['https://a.example', 'https://b.example'])
})

test('a bad setting throws one line naming the setting and its source', () => {
  const file = join(dir, 'bad.json')
  const cases: [Parameters<typeof resolveConfig>[0], RegExp][] = [
    [{ flags: { heartbeat: 'soon' } }, /^invalid setting --heartbeat: "soon" is not a duration/],
    [
      { env: { LIFELINE_MAX_BODY: 'lots' } },
      /^invalid setting --max-body \(from LIFELINE_MAX_BODY\): "lots" is not a size/,
    ],
    [{ flags: { port: '70000' } }, /--port: "70000" is not a port/],
    [{ flags: { maxConnections: '-1' } }, /--max-connections: "-1" is not a whole number/],
    [{ flags: { logLevel: 'loud' } }, /--log-level: "loud" is not a log level/],
    [{ flags: { redis: 'http://x' } }, /--redis: "http:\/\/x" is not a redis:\/\//],
    [{ flags: { tlsCert: join(dir, 'none.pem') } }, /--tls-cert: .* does not exist/],
    [{ flags: { jwtSecret: 'short' } }, /--jwt-secret: use at least 16 characters/],
    [
      { flags: { redis: 'redis://x:1', historyFile: join(dir, 'h.db') } },
      /--history-file: it cannot be combined with --redis/,
    ],
    [{ flags: { jwtSecret: 'a'.repeat(20), jwtJwks: import.meta.filename } }, /give only one JWT key source/],
    [{ flags: { workers: '5000' } }, /--workers: 5000 processes is more than 256; use 0 for one per core/],
  ]
  writeFileSync(file, '{"heartbeat": "15s", "writeTimout": "1s"}')
  cases.push([{ configFile: file }, /config file .*bad.json has an unknown setting "writeTimout"/])
  const broken = join(dir, 'broken.json')
  writeFileSync(broken, '{"heartbeat": ')
  cases.push([{ configFile: broken }, /config file .*broken.json is not valid JSON/])
  const typed = join(dir, 'typed.json')
  writeFileSync(typed, '{"retry": true}')
  cases.push([
    { configFile: typed },
    /--retry \(from config file .*typed.json key "retry"\): "true" has the wrong type/,
  ])
  for (const [sources, pattern] of cases) {
    assert.throws(
      () => resolveConfig({ env: {}, ...sources }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError)
        assert.equal(err.code, 'LIFELINE_ERR_CONFIG_INVALID')
        assert.doesNotMatch(err.message, /\n/)
        assert.match(err.message, pattern)
        return true
      },
    )
  }
})

function fakeReq(remoteAddress: string, headers: Record<string, string> = {}): Req {
  return { socket: { remoteAddress }, headers } as unknown as Req
}

test('forwarded headers are believed only from trusted proxies (IPv4 and IPv6)', () => {
  const none = createClientAddressResolver([])
  assert.equal(none(fakeReq('::ffff:10.1.2.3', { 'x-forwarded-for': '6.6.6.6' })), '10.1.2.3')
  const resolve = createClientAddressResolver(['10.0.0.0/8', '2001:db8::/32', '127.0.0.1'])
  assert.equal(resolve(fakeReq('10.0.0.5', { 'x-forwarded-for': '203.0.113.9' })), '203.0.113.9')
  assert.equal(resolve(fakeReq('::ffff:10.0.0.5', { 'x-forwarded-for': '203.0.113.9' })), '203.0.113.9')
  assert.equal(
    resolve(fakeReq('198.51.100.1', { 'x-forwarded-for': '203.0.113.9' })),
    '198.51.100.1',
    'untrusted sender',
  )
  // A client-supplied entry left of a trusted hop chain: the first untrusted address from the right wins.
  assert.equal(
    resolve(fakeReq('10.0.0.5', { 'x-forwarded-for': '1.1.1.1, 203.0.113.9, 10.0.0.7' })),
    '203.0.113.9',
  )
  assert.equal(resolve(fakeReq('2001:db8::1', { 'x-forwarded-for': '2001:db9::5' })), '2001:db9::5')
  const rfc = createClientAddressResolver(['10.0.0.0/8', '2001:db8::/32', '127.0.0.1'], 'forwarded')
  assert.equal(
    rfc(fakeReq('10.0.0.5', { forwarded: 'for="[2001:db9::7]:443";proto=https, for=10.0.0.8' })),
    '2001:db9::7',
  )
  assert.equal(rfc(fakeReq('10.0.0.5', { forwarded: 'for=203.0.113.4:5555' })), '203.0.113.4')
  assert.equal(resolve(fakeReq('10.0.0.5', { 'x-forwarded-for': 'garbage' })), '10.0.0.5')
  const loop = createClientAddressResolver(['loopback'])
  assert.equal(loop(fakeReq('::1', { 'x-forwarded-for': '192.0.2.1' })), '192.0.2.1')
  assert.throws(() => createClientAddressResolver(['10.0.0.0/40']), /--trust-proxy/)
  assert.throws(() => createClientAddressResolver(['proxy.local']), /--trust-proxy/)
})

test('claim patterns: exact, trailing /* prefix, * for all', () => {
  assert.ok(patternCovers('*', 'anything/at/all'))
  assert.ok(patternCovers('news', 'news'))
  assert.ok(!patternCovers('news', 'news/1'))
  assert.ok(patternCovers('orders/*', 'orders/1'))
  assert.ok(patternCovers('orders/*', 'orders/eu/*'))
  assert.ok(!patternCovers('orders/*', 'orders'))
  assert.ok(!patternCovers('orders/*', 'ordersx/1'))
  assert.ok(!patternCovers('orders/1', 'orders/*'))
})

test('--streams-path "" turns the Durable Streams endpoint off; a prefix must be a path', () => {
  assert.equal(resolveConfig({ env: {}, flags: { streamsPath: '' } }).streamsPath, '')
  assert.equal(resolveConfig({ env: {}, flags: { streamsPath: '/s/' } }).streamsPath, '/s/')
  assert.throws(
    () => resolveConfig({ env: {}, flags: { streamsPath: 'v1/stream' } }),
    /--streams-path: "v1\/stream" is not a path: start it with \//,
  )
})
