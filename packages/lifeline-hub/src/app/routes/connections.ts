/**
 * `GET /api/connections`: every open stream (docs/design.md §5) and the settings in force (docs/design.md §3:
 * every knob is visible here); needs `admin: true` when auth is on. Secrets are never shown.
 *
 * Takes the dashboard's query parameters (`topic`, `sort`, `order`, `offset`, `limit`; same parser, so
 * both endpoints page alike). Without any of them the answer is every stream in the hub's order, as
 * before; without `limit` there is no page cut.
 */
import { LifelineError } from 'lifeline-sse/protocol'
import { parseConnectionQuery, queryConnections } from '../../dashboard/index.ts'
import { HttpError, sendJson, sentence } from '../../shared/http-error.ts'
import type { ServeConfig } from '../config-options.ts'
import type { RouteHandler } from '../context.ts'

/** Settings shown: durations in ms, sizes in bytes. Keys and secrets are reduced to what is configured. */
export function visibleSettings(c: ServeConfig): Record<string, unknown> {
  return {
    heartbeatMs: c.heartbeat,
    writeTimeoutMs: c.writeTimeout,
    maxBufferedBytes: c.maxBuffered,
    idleTimeoutMs: c.idleTimeout,
    maxLifetimeMs: c.maxLifetime,
    retryMs: c.retry,
    shutdownTimeoutMs: c.shutdownTimeout,
    requestTimeoutMs: c.requestTimeout,
    keepAliveTimeoutMs: c.keepAliveTimeout,
    maxConnections: c.maxConnections,
    maxConnectionsPerIp: c.maxConnectionsPerIp,
    maxTopics: c.maxTopics,
    maxBodyBytes: c.maxBody,
    trustProxy: c.trustProxy,
    trustProxyHeader: c.trustProxyHeader,
    corsOrigin: c.corsOrigin,
    history: c.redis ? 'redis' : c.historyFile ? 'file' : 'memory',
    historySize: c.historySize,
    historyTtlMs: c.historyTtl,
    auth: c.jwtSecret ? 'hs256' : c.jwtPublicKey ? 'public-key' : c.jwtJwks ? 'jwks' : 'off',
    tls: c.tlsCert !== undefined,
    workers: c.workers,
  }
}

export const connectionsRoute: RouteHandler = async (ctx, req, res, url) => {
  const grant = await ctx.auth.authenticate(req, url, 'subscriber')
  if (!grant.admin)
    throw new HttpError(
      'forbidden',
      'This needs an admin token: add "admin": true to the token\'s lifeline claim.',
    )
  // --workers: every worker's streams, gathered through the primary.
  const all = ctx.workers ? await ctx.workers.connections() : ctx.hub.connections()
  const params = url.searchParams
  const settings = visibleSettings(ctx.config)
  if (!QUERY_PARAMS.some((name) => params.has(name))) {
    sendJson(res, 200, {
      count: all.length,
      total: all.length,
      offset: 0,
      limit: null,
      settings,
      connections: all,
    })
    return
  }
  const hasLimit = params.get('limit') !== null && params.get('limit') !== ''
  let query: ReturnType<typeof parseConnectionQuery>
  try {
    query = parseConnectionQuery(params)
  } catch (err) {
    if (err instanceof LifelineError && err.code === 'LIFELINE_ERR_QUERY_INVALID') {
      throw new HttpError('bad_query', sentence(err.message))
    }
    throw err
  }
  // No `limit`: every matching stream from `offset` on (the listing was never cut before paging).
  const page = queryConnections(
    all,
    hasLimit ? query : { ...query, limit: Number.POSITIVE_INFINITY },
    Date.now(),
  )
  sendJson(res, 200, {
    count: page.rows.length,
    total: page.total,
    offset: page.offset,
    limit: hasLimit ? page.limit : null,
    settings,
    connections: page.rows,
  })
}

/** Any of these switches from the plain listing to the filtered, sorted (and maybe paged) one. */
const QUERY_PARAMS = ['topic', 'sort', 'order', 'offset', 'limit'] as const
