/**
 * The hub app: one node:http server (or node:http2 with HTTP/1.1 fallback when a TLS cert and key are
 * given) routing docs/design.md §5 over a Hub. `lifeline serve` is a thin shell over `createApp`, and tests
 * or embedders can start a hub in-process with it.
 */
import { readFileSync } from 'node:fs'
import { createServer, type Server, type ServerResponse } from 'node:http'
import { createSecureServer, type Http2SecureServer, type Http2Session } from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'
import { LifelineError } from 'lifeline-sse/protocol'
import type { Hub } from 'lifeline-sse/server'
import { createHub } from 'lifeline-sse/server'
import { createDashboard } from '../dashboard/index.ts'
import {
  HttpError,
  type HttpErrorCode,
  type Req,
  type Res,
  sendError,
  sendJson,
} from '../shared/http-error.ts'
import { createAuth } from './auth.ts'
import { createClientAddressResolver } from './client-address.ts'
import type { ServeConfig } from './config-options.ts'
import { configWithDefaults } from './config-resolve.ts'
import type { AppContext, RouteHandler } from './context.ts'
import { createCors } from './cors.ts'
import { createDurableEndpoint, type DurableEndpoint } from './durable/endpoint.ts'
import { createStreamStore } from './durable/stream-store-config.ts'
import { openHistory } from './history-store.ts'
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
  readonly config: ServeConfig
  readonly logger: Logger
  /** Listens on config.host:port; resolves with the base URL (`http://127.0.0.1:8080`). */
  listen(): Promise<string>
  /** Base URL once listening. */
  readonly url: string | undefined
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

const ROUTES: Record<string, { method: 'GET' | 'POST'; handler: RouteHandler }> = {
  '/events': { method: 'GET', handler: eventsRoute },
  '/publish': { method: 'POST', handler: publishRoute },
  '/metrics': { method: 'GET', handler: metricsRoute },
  '/healthz': { method: 'GET', handler: healthRoute },
  '/readyz': { method: 'GET', handler: readyRoute },
  '/api/connections': { method: 'GET', handler: connectionsRoute },
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
    streams: (h) => worker?.streams ?? createStreamStore(config, h),
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

  const requireAdmin = async (req: Req, res: Res): Promise<{ expiresAt: number | undefined } | false> => {
    try {
      const grant = await auth.authenticate(req, new URL(req.url ?? '/', 'http://localhost'), 'subscriber')
      if (!grant.admin)
        throw new HttpError(
          'forbidden',
          'This needs an admin token: add "admin": true to the token\'s lifeline claim.',
        )
      return { expiresAt: grant.expiresAt }
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

  const handle = async (req: Req, res: Res): Promise<void> => {
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://localhost')
    } catch {
      throw new HttpError('bad_request', 'The request target is not a valid path.')
    }
    if (cors.apply(req, res)) return
    const route = ROUTES[url.pathname]
    if (route) {
      const headOk = route.method === 'GET' && req.method === 'HEAD' && url.pathname !== '/events'
      if (req.method !== route.method && !headOk) {
        throw new HttpError('method_not_allowed', `${url.pathname} answers ${route.method} only.`, {
          allow: route.method,
        })
      }
      await route.handler(ctx, req, res, url)
      return
    }
    if (durable && (await durable.handle(req, res, url))) return
    if (await dashboard.handle(req, res, url)) return
    if (url.pathname === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      sendJson(res, 200, {
        name: 'lifeline',
        routes: {
          subscribe: 'GET /events?topic=<topic>',
          publish: 'POST /publish {"topic": "<topic>", "data": ...}',
          metrics: 'GET /metrics',
          health: 'GET /healthz',
          ready: 'GET /readyz',
          connections: 'GET /api/connections',
        },
      })
      return
    }
    throw new HttpError(
      'not_found',
      `Nothing at ${url.pathname.slice(0, 100)}: try GET /events?topic=<topic> or POST /publish.`,
    )
  }

  const workerHeader = worker ? String(worker.index) : undefined
  const onRequest = (req: Req, res: Res): void => {
    // --workers: which process answered (debugging, and tests that must reach several workers).
    if (workerHeader !== undefined) res.setHeader('x-lifeline-worker', workerHeader)
    handle(req, res).catch((err: unknown) => {
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
      logger.error({ err, method: req.method, path: pathOf(req) }, 'request failed')
      sendError(
        res,
        new HttpError('internal_error', 'The hub failed to answer this request; it has been logged.'),
      )
    })
  }

  const tls = config.tlsCert !== undefined && config.tlsKey !== undefined
  let server: Server | Http2SecureServer
  const sessions = new Set<Http2Session>()
  if (tls) {
    const secure = createSecureServer(
      { cert: readFileSync(config.tlsCert!), key: readFileSync(config.tlsKey!), allowHTTP1: true },
      onRequest,
    )
    secure.on('session', (session: Http2Session) => {
      sessions.add(session)
      session.once('close', () => sessions.delete(session))
    })
    secure.on('tlsClientError', () => {})
    server = secure
  } else {
    const checkEvery =
      config.requestTimeout > 0
        ? Math.max(100, Math.min(1_000, Math.floor(config.requestTimeout / 4)))
        : 30_000
    const plain = createServer(
      {
        requestTimeout: config.requestTimeout,
        headersTimeout: config.requestTimeout,
        keepAliveTimeout: config.keepAliveTimeout,
        connectionsCheckingInterval: checkEvery,
      },
      onRequest,
    )
    plain.on('clientError', answerClientError)
    server = plain
  }

  let url: string | undefined
  const app: App = {
    hub: view,
    server,
    config,
    logger,
    get url() {
      return url
    },
    get draining() {
      return draining
    },
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject)
        // Workers share the port: SO_REUSEPORT, the kernel spreads connections over them.
        const reusePort = worker !== undefined
        server.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG, reusePort }, () => {
          server.off('error', reject)
          const address = server.address() as AddressInfo
          const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
          url = `${tls ? 'https' : 'http'}://${host}:${address.port}`
          resolve(url)
        })
      })
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
      offLogs()
      peers?.close()
      metrics.close()
    },
  }
  return app
}

/** The client reset the stream or closed the connection: nobody is left to answer. */
function clientGone(res: Res): boolean {
  if ('stream' in res) return res.stream.destroyed
  return res.destroyed || res.socket === null || res.socket.destroyed
}

/** The path only, for logs: a query may hold an access_token. */
function pathOf(req: Req): string | undefined {
  return (req.url ?? '').split('?')[0]?.slice(0, 200)
}

const CLIENT_ERROR_ANSWERS: Record<string, [number, HttpErrorCode, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [
    408,
    'request_timeout',
    'The request was not received in time (--request-timeout): send it whole, faster.',
  ],
  HPE_HEADER_OVERFLOW: [
    431,
    'headers_too_large',
    'The request headers are too large: send fewer or shorter headers (or fewer topics).',
  ],
}

/**
 * Requests Node's HTTP parser rejects (or times out) still get a JSON answer when the socket can take
 * one (docs/design.md §5). When a route already holds the response (a body that stopped arriving, a
 * malformed chunk), the answer goes through that response, so the route's own answer later is a no-op.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  const pending = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage
  if (err.code === 'ECONNRESET' || !socket.writable || pending?.headersSent) {
    socket.destroy()
    return
  }
  const [status, code, message] = CLIENT_ERROR_ANSWERS[err.code ?? ''] ?? [
    400,
    'bad_request',
    'The request is not valid HTTP: check the request line and headers.',
  ]
  if (pending) {
    sendError(pending, new HttpError(code, message, { connection: 'close' }, status))
    pending.once('finish', () => socket.destroySoon())
    return
  }
  const body = JSON.stringify({ error: code, message })
  const reason =
    status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  )
}
