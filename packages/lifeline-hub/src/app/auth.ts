/**
 * JWT auth (docs/design.md §5). Off only when no key is configured. Keys: an HS256 secret, a PEM public key
 * (RS256 for RSA keys, ES256 for P-256 keys) or a JWKS file. Each key source has an explicit algorithm
 * allowlist, so `alg: none` and algorithm confusion (an HS256 token signed with a public key) fail.
 *
 * Claim: `{"lifeline": {"publish": [...patterns], "subscribe": [...patterns], "admin": true}}`.
 * A pattern is an exact topic, a trailing `/*` prefix, or `*` alone for every topic.
 */
import { createPublicKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createLocalJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose'
import { z } from 'zod'
import { HttpError, type Req } from '../shared/http-error.ts'
import type { ServeConfig } from './config-options.ts'
import { ConfigError } from './config-resolve.ts'

export interface Grant {
  publish: readonly string[]
  subscribe: readonly string[]
  admin: boolean
  /** Wall-clock ms of `exp`, when the token has one. */
  expiresAt: number | undefined
}

/** With auth off every request gets this. */
const OPEN_GRANT: Grant = { publish: ['*'], subscribe: ['*'], admin: true, expiresAt: undefined }

const claimSchema = z.object({
  publish: z.array(z.string()).optional(),
  subscribe: z.array(z.string()).optional(),
  admin: z.boolean().optional(),
})

type KeyInput = Uint8Array | CryptoKey | JWTVerifyGetKey | import('node:crypto').KeyObject

export interface Auth {
  readonly enabled: boolean
  /** Allowed algorithms (empty when off). */
  readonly algorithms: readonly string[]
  /** Verifies the request's token; throws HttpError 401 when missing or bad. */
  authenticate(req: Req, url: URL, from: 'publisher' | 'subscriber'): Promise<Grant>
}

/** Builds the verifier from config; throws ConfigError when a key cannot be loaded. */
export function createAuth(config: Pick<ServeConfig, 'jwtSecret' | 'jwtPublicKey' | 'jwtJwks'>): Auth {
  let key: KeyInput | undefined
  let algorithms: string[] = []
  if (config.jwtSecret !== undefined) {
    key = new TextEncoder().encode(config.jwtSecret)
    algorithms = ['HS256']
  } else if (config.jwtPublicKey !== undefined) {
    let keyObject: import('node:crypto').KeyObject
    try {
      keyObject = createPublicKey(readFileSync(config.jwtPublicKey))
    } catch (err) {
      throw new ConfigError(
        `invalid setting --jwt-public-key: ${config.jwtPublicKey} is not a PEM public key (${(err as Error).message})`,
      )
    }
    const type = keyObject.asymmetricKeyType
    if (type === 'rsa') algorithms = ['RS256']
    else if (type === 'ec' && keyObject.asymmetricKeyDetails?.namedCurve === 'prime256v1')
      algorithms = ['ES256']
    else
      throw new ConfigError(
        `invalid setting --jwt-public-key: the key is ${type}; use an RSA key (RS256) or an EC P-256 key (ES256)`,
      )
    key = keyObject
  } else if (config.jwtJwks !== undefined) {
    try {
      key = createLocalJWKSet(JSON.parse(readFileSync(config.jwtJwks, 'utf8')))
    } catch (err) {
      throw new ConfigError(
        `invalid setting --jwt-jwks: ${config.jwtJwks} is not a JWKS file (${(err as Error).message})`,
      )
    }
    algorithms = ['RS256', 'ES256']
  }
  if (key === undefined) {
    return { enabled: false, algorithms: [], authenticate: async () => OPEN_GRANT }
  }
  const verifyKey = key
  return {
    enabled: true,
    algorithms,
    async authenticate(req, url, from) {
      const token = tokenOf(req, url, from)
      if (token === undefined) {
        throw unauthorized(
          from === 'publisher'
            ? 'send Authorization: Bearer <jwt>'
            : 'send Authorization: Bearer <jwt>, the access_token query parameter or the lifeline_token cookie',
        )
      }
      let payload: JWTPayload
      try {
        const result = await jwtVerify(token, verifyKey as Parameters<typeof jwtVerify>[1], { algorithms })
        payload = result.payload
      } catch (err) {
        const code = (err as { code?: string }).code
        throw unauthorized(
          code === 'ERR_JWT_EXPIRED'
            ? 'the token has expired: get a new one'
            : `the token was rejected (${code ?? 'invalid'}): sign it with an allowed algorithm (${algorithms.join(', ')}) and the hub's key`,
        )
      }
      const parsed = claimSchema.safeParse(payload['lifeline'] ?? {})
      if (!parsed.success)
        throw unauthorized(
          'the token\'s "lifeline" claim must be {"publish": [...], "subscribe": [...], "admin": bool}',
        )
      return {
        publish: parsed.data.publish ?? [],
        subscribe: parsed.data.subscribe ?? [],
        admin: parsed.data.admin === true,
        expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined,
      }
    },
  }
}

function unauthorized(what: string): HttpError {
  return new HttpError('unauthorized', `Authentication required: ${what}.`, {
    'www-authenticate': 'Bearer realm="lifeline"',
  })
}

const BEARER_RE = /^Bearer\s+(\S+)\s*$/i

/** Publishers: Authorization header. Subscribers: header, then `access_token` query, then `lifeline_token` cookie. */
export function tokenOf(req: Req, url: URL, from: 'publisher' | 'subscriber'): string | undefined {
  const header = req.headers.authorization
  if (typeof header === 'string') {
    const m = BEARER_RE.exec(header)
    if (m) return m[1]
  }
  if (from === 'publisher') return undefined
  const query = url.searchParams.get('access_token')
  if (query) return query
  return cookie(req.headers.cookie, 'lifeline_token')
}

function cookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim()
      try {
        return decodeURIComponent(value) || undefined
      } catch {
        return value || undefined
      }
    }
  }
  return undefined
}

/** Does one claim pattern cover a requested topic (itself maybe a `/*` prefix pattern)? */
export function patternCovers(pattern: string, topic: string): boolean {
  if (pattern === '*') return true
  if (pattern === topic) return true
  if (pattern.endsWith('/*')) return topic.startsWith(pattern.slice(0, -1))
  return false
}

/** Throws 403 unless every topic is covered by some pattern of the list. */
export function requireTopics(
  patterns: readonly string[],
  topics: readonly string[],
  action: 'publish' | 'subscribe',
): void {
  for (const topic of topics) {
    if (!patterns.some((p) => patternCovers(p, topic))) {
      throw new HttpError(
        'forbidden',
        `The token does not allow you to ${action} to "${topic}": add it (or a matching pattern) to the token's lifeline.${action} claim.`,
      )
    }
  }
}
