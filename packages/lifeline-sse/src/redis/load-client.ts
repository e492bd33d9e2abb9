/**
 * Loads the Redis client (ioredis) only when cluster mode is used: it is an optional peer dependency,
 * so a single-node install never needs it. The rest of `src/redis` sees only the small shape below,
 * which keeps ioredis' types out of Lifeline's public declarations.
 */
import { LifelineError } from '../protocol/errors.ts'

/** The part of an ioredis connection (standalone or cluster) that Lifeline uses. */
export interface RedisConnection {
  /** `ready` when commands can be sent; anything else means not connected. */
  readonly status: string
  /** Sends one command; resolves with the raw RESP2 reply. */
  call(command: string, ...args: (string | number)[]): Promise<unknown>
  on(event: 'ready' | 'error' | 'close' | 'end', listener: (...args: unknown[]) => void): unknown
  connect(): Promise<void>
  quit(): Promise<unknown>
  /** Closes the socket; with `reconnect` the client connects again at once. */
  disconnect(reconnect?: boolean): void
}

export interface RedisClientModule {
  /** `new Redis(url, options)`: a standalone connection. */
  Redis: new (
    url: string,
    options: Record<string, unknown>,
  ) => RedisConnection
  /** `new Cluster(seeds, options)`: a Redis Cluster connection that follows slot moves. */
  Cluster: new (
    seeds: { host: string; port: number }[],
    options: Record<string, unknown>,
  ) => RedisConnection
}

/** The package to install for cluster mode (named in the error when it is missing). */
export const REDIS_CLIENT_PACKAGE = 'ioredis'

export async function loadRedisClient(): Promise<RedisClientModule> {
  let mod: Record<string, unknown>
  try {
    mod = (await import('ioredis')) as Record<string, unknown>
  } catch (cause) {
    const code = (cause as { code?: unknown }).code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new LifelineError(
        'LIFELINE_ERR_REDIS_CLIENT_MISSING',
        `the Redis history needs the "${REDIS_CLIENT_PACKAGE}" package (an optional peer dependency of lifeline-sse): run \`npm install ${REDIS_CLIENT_PACKAGE}\``,
        { cause },
      )
    }
    throw cause
  }
  // ioredis is CommonJS: its classes are named exports and also hang off the default export.
  const fallback = (mod.default ?? {}) as Record<string, unknown>
  const Redis = mod.Redis ?? fallback.Redis ?? mod.default
  const Cluster = mod.Cluster ?? fallback.Cluster
  if (typeof Redis !== 'function' || typeof Cluster !== 'function') {
    throw new LifelineError(
      'LIFELINE_ERR_REDIS_CLIENT_MISSING',
      `the installed "${REDIS_CLIENT_PACKAGE}" does not export Redis and Cluster: install ${REDIS_CLIENT_PACKAGE} 5 or newer`,
    )
  }
  return { Redis, Cluster } as RedisClientModule
}
