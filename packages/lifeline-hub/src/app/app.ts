/**
 * The hub app: one node:http server (or node:http2 with HTTP/1.1 fallback when a TLS cert and key are
 * given) routing docs/design.md §5 over a Hub, and with `--admin-port` a second, plain listener for
 * the operator's routes (metrics, health, dashboard, /api/connections), so a reconnect storm's accept
 * burst on the stream port never queues a health probe and metrics need not be public. `lifeline
 * serve` is a thin shell over `createApp`, and tests or embedders can start a hub in-process with it.
 */
import type { Server } from 'node:http'
import type { Http2SecureServer, Http2Session } from 'node:http2'
import type { AddressInfo } from 'node:net'
import { LifelineError } from 'lifeline-sse/protocol'
import type { Hub } from 'lifeline-sse/server'
import { createHub } from 'lifeline-sse/server'
import { createDashboard } from '../dashboard/index.ts'
import { HttpError, type Req, type Res, sendError, sendJson } from '../shared/http-error.ts'
import { createAuth } from './auth.ts'
import { createClientAddressResolver } from './client-address.ts'
import type { ServeConfig } from './config-options.ts'
import { configWithDefaults } from './config-resolve.ts'
import type { AppContext, RouteHandler } from './context.ts'
import { createCors } from './cors.ts'
import { createCrossOriginCheck } from './cross-origin.ts'
import { createDurableEndpoint, type DurableEndpoint } from './durable/endpoint.ts'
import { createStreamStore } from './durable/stream-store-config.ts'
import { openHistory } from './history-store.ts'
import { createHostCheck, type HostCheck } from './host-check.ts'
import { clientGone, createPlainServer, createTlsServer } from './http-servers.ts'
import { createLogger, type Logger, logConnections } from './logging.ts'
import { createMetrics } from './metrics.ts'
import { connectionsRoute } from './routes/connections.ts'
import { eventsRoute } from './routes/events.ts'
import { healthRoute, readyRoute } from './routes/health.ts'
import { metricsRoute } from './routes/metrics.ts'
import { publishRoute } from './routes/publish.ts'
import { Peers, type WorkerDeps } from './workers/peers.ts'

/**
 * Pending connections the kernel may queue before the hub accepts them (capped by
 * net.core.somaxconn). Node's default is 511: in a reconnect storm of thousands of clients the queue
 * overflows, the kernel drops SYNs and each dropped client (and a /healthz probe among them) waits a
 * full 1 s SYN retransmit. docs/operations.md says how to raise somaxconn to match.
 */
const LISTEN_BACKLOG = 4096

export interface App {
  readonly hub: Hub
  readonly server: Server | Http2SecureServer
  /** The admin listener, with `--admin-port`. */
  readonly adminServer: Server | undefined
  readonly config: ServeConfig
  readonly logger: Logger
  /** Listens on config.host:port; resolves with the base URL (`http://127.0.0.1:8080`). */
  listen(): Promise<string>
  /** Base URL once listening. */
  readonly url: string | undefined
  /** Base URL of the admin listener once listening (`--admin-port`). */
  readonly adminUrl: string | undefined
  /** True once close() started. */
  readonly draining: boolean
  /** Graceful drain: readiness fails, streams end (jittered retry), server stops, history released. */
  close(): Promise<void>
}

export interface AppDeps {
  logger?: Logger
  /** Set in a worker of `lifeline serve --workers` (app/workers/): per-hub limits, metrics, listings. */
  worker?: WorkerDeps
}

/**
 * Which listener serves a route: `streams` (the public port), `admin` (the admin port when there is
 * one, else the public port), `both`. The dashboard is `admin`; durable streams are `streams`.
 */
type Side = 'streams' | 'admin' | 'both'
/** What one listener is: the only one (serves everything), or one of the pair. */
type ListenerKind = 'only' | 'streams' | 'admin'

function serves(kind: ListenerKind, side: Side): boolean {
  return kind === 'only' || side === 'both' || side === kind
}

const ROUTES: Record<string, { method: 'GET' | 'POST'; handler: RouteHandler; side: Side }> = {
  '/events': { method: 'GET', handler: eventsRoute, side: 'streams' },
  '/publish': { method: 'POST', handler: publishRoute, side: 'streams' },
  '/metrics': { method: 'GET', handler: metricsRoute, side: 'admin' },
  '/healthz': { method: 'GET', handler: healthRoute, side: 'both' },
  '/readyz': { method: 'GET', handler: readyRoute, side: 'both' },
  '/api/connections': { method: 'GET', handler: connectionsRoute, side: 'admin' },
}

/** Sockets still open this long after the streams drained are cut (idle keep-alives, stuck clients). */
const CLOSE_GRACE_MS = 1_000

export async function createApp(overrides: Partial<ServeConfig> = {}, deps: AppDeps = {}): Promise<App> {
  const config = configWithDefaults(overrides)
  const logger = deps.logger ?? createLogger(config.logLevel)
  const auth = createAuth(config)
  const clientAddress = createClientAddressResolver(config.trustProxy, config.trustProxyHeader)
  const cors = createCors(config.corsOrigin)
  const worker = deps.worker
  const history = worker?.history ?? (await openHistory(config, logger))
  const redisModule = config.redis ? await import('lifeline-sse/redis') : undefined
  const hub = createHub({
    heartbeatMs: config.heartbeat,
    writeTimeoutMs: config.writeTimeout,
    maxBufferedBytes: config.maxBuffered,
    idleTimeoutMs: config.idleTimeout,
    maxLifetimeMs: config.maxLifetime,
    retryMs: config.retry,
    shutdownTimeoutMs: config.shutdownTimeout,
    // Workers: the primary admits across all of them (workers/leases.ts), the core does not count.
    maxConnections: worker ? 0 : config.maxConnections,
    maxConnectionsPerIp: worker ? 0 : config.maxConnectionsPerIp,
    historySize: config.historySize,
    historyTtlMs: config.historyTtl,
    historyMaxBytes: config.historyMaxBytes,
    ...(history ? { history } : {}),
    // --workers: the primary holds the stream records (workers/remote-streams.ts).
    streams: (h) => worker?.streams ?? createStreamStore(config, h, redisModule),
  })
  const peers = worker
    ? new Peers(worker, hub, config.maxConnections > 0 || config.maxConnectionsPerIp > 0, logger)
    : undefined
  const localMetrics = createMetrics(peers ? peers.local() : hub, {
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
  })
  const metrics = peers ? peers.metrics(localMetrics) : localMetrics
  const offLogs = logConnections(hub, logger)
  let draining = false
  // With workers, routes and the dashboard see every worker's totals and streams (workers/peers.ts).
  const view = peers ? peers.view() : hub
  const ctx: AppContext = {
    hub: view,
    config,
    auth,
    logger,
    metrics,
    clientAddress,
    draining: () => draining,
    workers: peers,
  }

  /** The caller's admin grant; throws 401/403 HttpError otherwise (auth off: everyone is admin). */
  const adminGrant = async (req: Req): Promise<{ expiresAt: number | undefined }> => {
    const grant = await auth.authenticate(req, new URL(req.url ?? '/', 'http://localhost'), 'subscriber')
    if (!grant.admin)
      throw new HttpError(
        'forbidden',
        'This needs an admin token: add "admin": true to the token\'s lifeline claim.',
      )
    return { expiresAt: grant.expiresAt }
  }
  const requireAdmin = async (req: Req, res: Res): Promise<{ expiresAt: number | undefined } | false> => {
    try {
      return await adminGrant(req)
    } catch (err) {
      if (!(err instanceof HttpError)) throw err
      sendError(res, err)
      return false
    }
  }
  const streams = hub.streams as NonNullable<typeof hub.streams>
  const durable: DurableEndpoint | undefined =
    config.streamsPath === ''
      ? undefined
      : createDurableEndpoint(ctx, streams, {
          prefix: config.streamsPath,
          longPollMs: config.streamsLongPoll,
          sseLifetimeMs: config.streamsSseLifetime,
          heartbeatMs: config.heartbeat,
        })
  const dashboard = createDashboard({
    hub: view,
    requireAdmin,
    logger,
    clientAddress,
    listConnections: peers ? () => peers.connections() : undefined,
  })

  const hasAdmin = config.adminPort !== undefined
  const crossOrigin = createCrossOriginCheck(config.corsOrigin)

  const handle = async (req: Req, res: Res, kind: ListenerKind, hostCheck: HostCheck): Promise<void> => {
    hostCheck(req)
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://localhost')
    } catch {
      throw new HttpError('bad_request', 'The request target is not a valid path.')
    }
    if (cors.apply(req, res)) return
    crossOrigin(req)
    const route = ROUTES[url.pathname]
    if (route && serves(kind, route.side)) {
      const headOk = route.method === 'GET' && req.method === 'HEAD' && url.pathname !== '/events'
      if (req.method !== route.method && !headOk) {
        throw new HttpError('method_not_allowed', `${url.pathname} answers ${route.method} only.`, {
          allow: route.method,
        })
      }
      // Metrics name topics and load: on a lone listener with auth on they need an admin token; on the
      // admin listener its address is the guard (Prometheus scrapes without a token).
      if (url.pathname === '/metrics' && kind === 'only' && auth.enabled) await adminGrant(req)
      await route.handler(ctx, req, res, url)
      return
    }
    if (route) {
      throw new HttpError(
        'not_found',
        `${url.pathname} is served on the ${kind === 'streams' ? 'admin listener (--admin-port)' : 'stream listener (--port)'}.`,
      )
    }
    if (kind !== 'admin' && durable && (await durable.handle(req, res, url))) return
    if (kind !== 'streams' && (await dashboard.handle(req, res, url))) return
    if (url.pathname === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      const all: Record<string, [Side, string]> = {
        subscribe: ['streams', 'GET /events?topic=<topic>'],
        publish: ['streams', 'POST /publish {"topic": "<topic>", "data": ...}'],
        metrics: ['admin', 'GET /metrics'],
        health: ['both', 'GET /healthz'],
        ready: ['both', 'GET /readyz'],
        connections: ['admin', 'GET /api/connections'],
      }
      const routes = Object.fromEntries(
        Object.entries(all)
          .filter(([, [side]]) => serves(kind, side))
          .map(([name, [, text]]) => [name, text]),
      )
      sendJson(res, 200, { name: 'lifeline', routes })
      return
    }
    throw new HttpError(
      'not_found',
      kind === 'admin'
        ? `Nothing at ${url.pathname.slice(0, 100)} on the admin listener: try /metrics, /healthz, /readyz, /api/connections or /.`
        : `Nothing at ${url.pathname.slice(0, 100)}: try GET /events?topic=<topic> or POST /publish.`,
    )
  }

  const workerHeader = worker ? String(worker.index) : undefined
  const listenerFor = (kind: ListenerKind, boundHost: string) => {
    const hostCheck = createHostCheck(boundHost, config.allowedHosts)
    return (req: Req, res: Res): void => {
      // --workers: which process answered (debugging, and tests that must reach several workers).
      if (workerHeader !== undefined) res.setHeader('x-lifeline-worker', workerHeader)
      handle(req, res, kind, hostCheck).catch((err: unknown) => {
        if (err instanceof HttpError) {
          if (clientGone(res)) {
            logger.debug(
              { method: req.method, path: pathOf(req), code: err.code },
              'client went away before the answer',
            )
            return
          }
          sendError(res, err)
          return
        }
        // The library's errors carry their HTTP meaning (lifeline-sse/protocol LIFELINE_ERRORS): input
        // errors and "retry later" are answered as such; only misuse and faults fall through to 500.
        if (err instanceof LifelineError && err.status < 500) {
          sendJson(res, err.status, { error: err.error, message: err.message })
          return
        }
        logger.error({ err, method: req.method, path: pathOf(req) }, 'request failed')
        sendError(
          res,
          new HttpError('internal_error', 'The hub failed to answer this request; it has been logged.'),
        )
      })
    }
  }

  const tls = config.tlsCert !== undefined && config.tlsKey !== undefined
  const onRequest = listenerFor(hasAdmin ? 'streams' : 'only', config.host)
  let server: Server | Http2SecureServer
  let sessions: ReadonlySet<Http2Session> = new Set()
  if (tls) {
    const secure = createTlsServer(config, onRequest)
    server = secure.server
    sessions = secure.sessions
  } else {
    server = createPlainServer(config, onRequest)
  }
  const adminServer = hasAdmin ? createPlainServer(config, listenerFor('admin', config.adminHost)) : undefined

  let url: string | undefined
  let adminUrl: string | undefined
  const app: App = {
    hub: view,
    server,
    adminServer,
    config,
    logger,
    get url() {
      return url
    },
    get adminUrl() {
      return adminUrl
    },
    get draining() {
      return draining
    },
    async listen() {
      // Workers share the ports: SO_REUSEPORT, the kernel spreads connections over them.
      const reusePort = worker !== undefined
      url = await listenOn(server, config.port, config.host, tls ? 'https' : 'http', reusePort)
      if (adminServer) {
        try {
          adminUrl = await listenOn(adminServer, config.adminPort ?? 0, config.adminHost, 'http', reusePort)
        } catch (err) {
          server.close()
          throw err
        }
      }
      return url
    },
    async close() {
      if (draining) return
      draining = true
      // Keep listening while streams drain: probes see /readyz 503 and new streams get 503 `draining`
      // instead of a refused connection.
      durable?.close()
      await streams.close()
      await hub.close()
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const session of sessions) session.close()
      if ('closeIdleConnections' in server) server.closeIdleConnections()
      const grace = setTimeout(() => {
        if ('closeAllConnections' in server) server.closeAllConnections()
        for (const session of sessions) session.destroy()
      }, CLOSE_GRACE_MS)
      grace.unref()
      await serverClosed
      clearTimeout(grace)
      if (adminServer) {
        const adminClosed = new Promise<void>((resolve) => adminServer.close(() => resolve()))
        adminServer.closeAllConnections()
        await adminClosed
      }
      offLogs()
      peers?.close()
      metrics.close()
    },
  }
  return app
}

/** Listens; resolves with the base URL (`http://127.0.0.1:8080`). */
function listenOn(
  server: Server | Http2SecureServer,
  port: number,
  host: string,
  scheme: 'http' | 'https',
  reusePort: boolean,
): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port, host, backlog: LISTEN_BACKLOG, reusePort }, () => {
      server.off('error', reject)
      const address = server.address() as AddressInfo
      const name = address.family === 'IPv6' ? `[${address.address}]` : address.address
      resolve(`${scheme}://${name}:${address.port}`)
    })
  })
}

/** The path only, for logs: a query may hold an access_token. */
function pathOf(req: Req): string | undefined {
  return (req.url ?? '').split('?')[0]?.slice(0, 200)
}
