/**
 * Auth and CORS against the real `lifeline serve` process: HS256 secret, ES256 public key file and an
 * RS256 JWKS file; tokens made with jose here. 401 for no or bad tokens, 403 for topics outside the
 * claim, `token_expired` closes, admin for /api/connections, CORS preflights.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from 'jose'
import { http, openStream, publish, type ServeProcess, startServe, waitForMetric } from './serve-process.ts'

const SECRET = 'test-secret-of-enough-length-0123456789'
const ORIGIN = 'https://app.example'
const dir = mkdtempSync(join(tmpdir(), 'lifeline-auth-'))

type Claim = { publish?: string[]; subscribe?: string[]; admin?: boolean }

function hs256(
  claim: Claim,
  options: { exp?: number | string; alg?: string; secret?: string } = {},
): Promise<string> {
  const jwt = new SignJWT({ lifeline: claim } as JWTPayload)
    .setProtectedHeader({ alg: options.alg ?? 'HS256' })
    .setIssuedAt()
  jwt.setExpirationTime(options.exp ?? '5m')
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET))
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

let hs: ServeProcess
let es: ServeProcess
let jwks: ServeProcess
let esKeys: Awaited<ReturnType<typeof generateKeyPair>>
let rsKeys: Awaited<ReturnType<typeof generateKeyPair>>

before(async () => {
  esKeys = await generateKeyPair('ES256', { extractable: true })
  rsKeys = await generateKeyPair('RS256', { extractable: true })
  writeFileSync(join(dir, 'es.pem'), await exportSPKI(esKeys.publicKey))
  const jwk = { ...(await exportJWK(rsKeys.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [jwk] }))
  ;[hs, es, jwks] = await Promise.all([
    startServe(['--cors-origin', ORIGIN, '--cors-origin', 'https://other.example', '--heartbeat', '300ms'], {
      LIFELINE_JWT_SECRET: SECRET,
    }),
    startServe(['--jwt-public-key', join(dir, 'es.pem')]),
    startServe(['--jwt-jwks', join(dir, 'jwks.json')]),
  ])
})

after(async () => {
  await Promise.all([hs?.stop('SIGKILL'), es?.stop('SIGKILL'), jwks?.stop('SIGKILL')])
  rmSync(dir, { recursive: true, force: true })
})

describe('HS256 secret', () => {
  test('the hub says at start that auth is on', () => {
    const line = hs.logs.find((l) => l.msg.startsWith('lifeline hub listening'))
    assert.equal(line?.['auth'], 'HS256 secret')
    assert.equal(
      hs.logs.some((l) => l.msg.startsWith('auth is off')),
      false,
    )
  })

  test('publish without a token, or with a bad one, is 401', async () => {
    const body = { topic: 'orders/1', data: 'x' }
    const none = await publish(hs.url, body)
    assert.equal(none.status, 401)
    assert.equal(none.json()['error'], 'unauthorized')
    assert.match(String(none.headers['www-authenticate']), /^Bearer/)
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ lifeline: { publish: ['*'] } })).toString('base64url')}.`
    for (const [name, token] of [
      ['wrong secret', await hs256({ publish: ['*'] }, { secret: 'another-secret-of-enough-length' })],
      ['alg none', unsigned],
      ['expired', await hs256({ publish: ['*'] }, { exp: Math.floor(Date.now() / 1000) - 60 })],
      ['HS384 not allowed', await hs256({ publish: ['*'] }, { alg: 'HS384' })],
      ['garbage', 'not.a.jwt'],
    ] as const) {
      const a = await publish(hs.url, body, bearer(token))
      assert.equal(a.status, 401, name)
      assert.equal(a.json()['error'], 'unauthorized', name)
    }
  })

  test('publish is allowed on the claim patterns and 403 elsewhere', async () => {
    const token = await hs256({ publish: ['orders/*', 'news'] })
    assert.equal((await publish(hs.url, { topic: 'orders/eu/1', data: 'x' }, bearer(token))).status, 201)
    assert.equal(
      (await publish(hs.url, { topic: ['news', 'orders/2'], data: 'x' }, bearer(token))).status,
      201,
    )
    const denied = await publish(hs.url, { topic: ['news', 'secret'], data: 'x' }, bearer(token))
    assert.equal(denied.status, 403)
    assert.equal(denied.json()['error'], 'forbidden')
    const subscriberOnly = await hs256({ subscribe: ['*'] })
    assert.equal((await publish(hs.url, { topic: 'news', data: 'x' }, bearer(subscriberOnly))).status, 403)
  })

  test('subscribers may send the token as header, access_token query or lifeline_token cookie', async () => {
    const token = await hs256({ subscribe: ['feed/*'] })
    const streams = await Promise.all([
      openStream(hs.url, '/events?topic=feed/a', bearer(token)),
      openStream(hs.url, `/events?topic=feed/a&access_token=${token}`),
      openStream(hs.url, '/events?topic=feed/a', { cookie: `theme=dark; lifeline_token=${token}` }),
    ])
    try {
      const p = await publish(
        hs.url,
        { topic: 'feed/a', data: 'hello' },
        bearer(await hs256({ publish: ['*'] })),
      )
      assert.equal(p.status, 201)
      for (const s of streams) assert.equal((await s.waitFor(1))[0]!.data, 'hello')
    } finally {
      for (const s of streams) s.close()
    }
  })

  test('subscribe without a token is 401, outside the claim 403', async () => {
    const none = await http(`${hs.url}/events?topic=feed/a`)
    assert.equal(none.status, 401)
    assert.equal(none.json()['error'], 'unauthorized')
    const token = await hs256({ subscribe: ['feed/*'] })
    for (const topic of ['other', 'feed', 'feedx/1', '*']) {
      const a = await http(`${hs.url}/events?topic=feed/a&topic=${encodeURIComponent(topic)}`, {
        headers: bearer(token),
      })
      assert.ok(a.status === 403 || (topic === '*' && a.status === 400), `${topic}: ${a.status}`)
    }
  })

  test('a stream closes cleanly with token_expired when its token expires', async () => {
    const token = await hs256({ subscribe: ['exp'] }, { exp: Math.floor(Date.now() / 1000) + 2 })
    const s = await openStream(hs.url, '/events?topic=exp', bearer(token))
    const started = Date.now()
    assert.equal(await s.ended, 'end')
    assert.ok(Date.now() - started < 6_000)
    await waitForMetric(
      hs.url,
      'lifeline_connections_closed_total{reason="token_expired"}',
      1,
      10_000,
      'exactly',
      bearer(await hs256({ admin: true })),
    )
    const log = await hs.waitForLog((l) => l.msg === 'connection close' && l['reason'] === 'token_expired')
    assert.equal(log.level, 30)
  })

  test('the dashboard stats stream closes with token_expired when its admin token expires', async () => {
    const token = await hs256({ admin: true }, { exp: Math.floor(Date.now() / 1000) + 2 })
    const s = await openStream(hs.url, '/dashboard/stats', bearer(token))
    // Frames arrive every second while the token is valid; the stream must end, not run on.
    const ended = await Promise.race([
      s.ended,
      new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), 8_000).unref()),
    ])
    s.close()
    assert.equal(ended, 'end', 'the stats stream ends when its token expires')
  })

  test('/api/connections needs an admin token', async () => {
    assert.equal((await http(`${hs.url}/api/connections`)).status, 401)
    const user = await hs256({ subscribe: ['*'] })
    const forbidden = await http(`${hs.url}/api/connections`, { headers: bearer(user) })
    assert.equal(forbidden.status, 403)
    assert.equal(forbidden.json()['error'], 'forbidden')
    const admin = await hs256({ admin: true })
    const ok = await http(`${hs.url}/api/connections`, { headers: bearer(admin) })
    assert.equal(ok.status, 200)
    assert.ok(Array.isArray(ok.json()['connections']))
  })

  test('CORS: an allowed origin gets its preflight answered with credentials, others get no allow-origin', async () => {
    const preflight = await http(`${hs.url}/publish`, {
      method: 'OPTIONS',
      headers: {
        origin: ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    })
    assert.equal(preflight.status, 204)
    assert.equal(preflight.headers['access-control-allow-origin'], ORIGIN)
    assert.equal(preflight.headers['access-control-allow-credentials'], 'true')
    assert.match(String(preflight.headers['access-control-allow-methods']), /POST/)
    assert.match(String(preflight.headers['access-control-allow-headers']), /Authorization/i)
    assert.match(String(preflight.headers['vary']), /Origin/)
    const evil = await http(`${hs.url}/events?topic=a`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    })
    assert.equal(evil.headers['access-control-allow-origin'], undefined)
    const token = await hs256({ subscribe: ['*'] })
    const s = await openStream(hs.url, '/events?topic=cors', { ...bearer(token), origin: ORIGIN })
    assert.equal(s.res.headers['access-control-allow-origin'], ORIGIN)
    assert.equal(s.res.headers['access-control-allow-credentials'], 'true')
    s.close()
    const denied = await http(`${hs.url}/healthz`, { headers: { origin: 'https://evil.example' } })
    assert.equal(denied.headers['access-control-allow-origin'], undefined)
  })
})

describe('ES256 public key file', () => {
  test('accepts ES256 tokens from the key and rejects others, including algorithm confusion', async () => {
    const good = await new SignJWT({ lifeline: { publish: ['*'] } } as JWTPayload)
      .setProtectedHeader({ alg: 'ES256' })
      .setExpirationTime('5m')
      .sign(esKeys.privateKey)
    assert.equal((await publish(es.url, { topic: 'a', data: 'x' }, bearer(good))).status, 201)
    const other = await generateKeyPair('ES256')
    const foreign = await new SignJWT({ lifeline: { publish: ['*'] } } as JWTPayload)
      .setProtectedHeader({ alg: 'ES256' })
      .sign(other.privateKey)
    assert.equal((await publish(es.url, { topic: 'a', data: 'x' }, bearer(foreign))).status, 401)
    const pem = await exportSPKI(esKeys.publicKey)
    const confused = await hs256({ publish: ['*'] }, { secret: pem })
    assert.equal((await publish(es.url, { topic: 'a', data: 'x' }, bearer(confused))).status, 401)
  })
})

describe('RS256 JWKS file', () => {
  test('accepts a token whose kid is in the set and rejects an unknown kid', async () => {
    const good = await new SignJWT({ lifeline: { publish: ['*'] } } as JWTPayload)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setExpirationTime('5m')
      .sign(rsKeys.privateKey)
    assert.equal((await publish(jwks.url, { topic: 'a', data: 'x' }, bearer(good))).status, 201)
    const unknown = await new SignJWT({ lifeline: { publish: ['*'] } } as JWTPayload)
      .setProtectedHeader({ alg: 'RS256', kid: 'nope' })
      .sign(rsKeys.privateKey)
    assert.equal((await publish(jwks.url, { topic: 'a', data: 'x' }, bearer(unknown))).status, 401)
  })
})
