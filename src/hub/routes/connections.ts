/**
 * `GET /api/connections`: every open stream (DESIGN.md §5) and the settings in force (DESIGN.md §3:
 * every knob is visible here); needs `admin: true` when auth is on. Secrets are never shown.
 */
import type { RouteHandler } from '../context.ts'
import { HttpError, sendJson } from '../http-error.ts'
import type { HubConfig } from '../options.ts'

/** Settings shown: durations in ms, sizes in bytes. Keys and secrets are reduced to what is configured. */
export function visibleSettings(c: HubConfig): Record<string, unknown> {
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
    corsOrigin: c.corsOrigin,
    history: c.redis ? 'redis' : c.historyFile ? 'file' : 'memory',
    historySize: c.historySize,
    historyTtlMs: c.historyTtl,
    auth: c.jwtSecret ? 'hs256' : c.jwtPublicKey ? 'public-key' : c.jwtJwks ? 'jwks' : 'off',
    tls: c.tlsCert !== undefined,
  }
}

export const connectionsRoute: RouteHandler = async (ctx, req, res, url) => {
  const grant = await ctx.auth.authenticate(req, url, 'subscriber')
  if (!grant.admin)
    throw new HttpError(
      'forbidden',
      'This needs an admin token: add "admin": true to the token\'s lifeline claim.',
    )
  const connections = ctx.hub.connections()
  sendJson(res, 200, { count: connections.length, settings: visibleSettings(ctx.config), connections })
}
