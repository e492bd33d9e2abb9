/**
 * The hub's dashboard (docs/design.md §5 `GET /`): a static page, its stats stream and two JSON endpoints.
 *
 *   GET /, /dashboard/            the page (public shell: no data in it)
 *   GET /dashboard/app.js|css     the bundled script and styles (content-hashed URLs, cached for good)
 *   GET /dashboard/stats          SSE: one `event: stats` frame per second (admin)
 *   GET /dashboard/api/stats      JSON: the frame now and the last 5 minutes of frames (admin)
 *   GET /dashboard/api/connections?topic=&sort=&order=&offset=&limit=   one page of streams (admin)
 *
 * The stats stream is opened by the node adapter on the reserved topic STATS_TOPIC, so it is a hub
 * stream like any other: admission, heartbeats, write timeout, buffer limit, drain, the connection
 * table. Its frames are not published (no history entry, no id, not counted as published): the
 * sampler encodes each frame once and writes the same bytes to every watcher's response, skipping a
 * watcher whose queue is not empty (a slow dashboard misses frames instead of piling them up; the
 * hub's write timeout still applies). docs/dashboard.md explains the choice.
 */

import { encodeEvent } from 'lifeline-sse/protocol'
import type { ConnectionInfo, Hub, StreamHandle } from 'lifeline-sse/server'
import { handleNode } from 'lifeline-sse/server'
import { HttpError, type Req, type Res, sendError, sendJson } from '../shared/http-error.ts'
import { type Asset, type DashboardAssets, loadAssets } from './assets.ts'
import { parseConnectionQuery, queryConnections } from './connection-query.ts'
import { STATS_EVENT, STATS_TOPIC, type StatsFrame } from './stats-frame.ts'
import { StatsSampler } from './stats-sampler.ts'

export interface DashboardContext {
  hub: Hub
  /**
   * Resolves the caller's admin access when the request may see admin data; otherwise false, having
   * answered (401/403) itself. The access's `expiresAt` (the token's `exp`) ends the stats stream.
   */
  requireAdmin: (req: Req, res: Res) => Promise<AdminAccess | false> | AdminAccess | false
  logger: { info(...args: unknown[]): void; warn(...args: unknown[]): void }
  /** The client address after `--trust-proxy` resolution. @default the socket's address */
  clientAddress?: ((req: Req) => string) | undefined
  /** Every stream of the hub now (`--workers`: gathered from every worker). @default hub.connections() */
  listConnections?: (() => Promise<ConnectionInfo[]>) | undefined
}

/** What an admin check grants: until when (wall-clock ms; undefined = no expiry). */
export interface AdminAccess {
  readonly expiresAt?: number | undefined
}

export interface Dashboard {
  /** Answers the request when it is the dashboard's; resolves false (untouched) otherwise. */
  handle(req: Req, res: Res, url: URL): Promise<boolean> | boolean
  /** The sampler (tests, embedders). */
  readonly sampler: StatsSampler
}

export interface DashboardOptions {
  /** Stats period, ms. @default 1000 */
  intervalMs?: number
}

/** A watcher whose response still holds this many queued bytes gets no new frame this second. */
const SKIP_WHEN_QUEUED_BYTES = 64 * 1024

// The page and its assets must not be framed (the try-it panel publishes) nor sniffed.
const PAGE_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
}

// One build per process, shared by every app in it (tests start many hubs). Started by the first
// request for the page, not at hub start: a hub nobody looks at never pays for esbuild.
let assetsPromise: Promise<DashboardAssets> | undefined

function assets(logger: DashboardContext['logger']): Promise<DashboardAssets> {
  if (assetsPromise === undefined) {
    assetsPromise = loadAssets().then(
      (loaded) => {
        logger.info({ source: loaded.source }, 'dashboard assets ready')
        return loaded
      },
      (error: unknown) => {
        assetsPromise = undefined
        logger.warn({ err: error }, 'dashboard assets failed to build')
        throw error
      },
    )
  }
  return assetsPromise
}

/** Response surface shared by node:http and the node:http2 compat API. */
interface WatcherResponse {
  write(chunk: Uint8Array): boolean
  readonly writableLength: number
  readonly writableEnded: boolean
  readonly destroyed: boolean
}

interface Watcher {
  readonly stream: StreamHandle
  readonly res: WatcherResponse
}

export function createDashboard(ctx: DashboardContext, options: DashboardOptions = {}): Dashboard {
  const { hub, requireAdmin, logger } = ctx
  const watchers = new Set<Watcher>()

  const sampler = new StatsSampler({
    hub,
    ...(options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs }),
    onFrame: (frame: StatsFrame) => {
      // Encoded once; the same bytes go to every watcher. No id: a frame is not part of any history.
      const bytes = encodeEvent({ event: STATS_EVENT, data: JSON.stringify(frame) })
      for (const watcher of watchers) {
        const res = watcher.res
        if (res.writableEnded || res.destroyed || watcher.stream.signal.aborted) continue
        if (res.writableLength > SKIP_WHEN_QUEUED_BYTES) continue
        res.write(bytes)
      }
    },
  })

  async function openStatsStream(req: Req, res: Res, access: AdminAccess): Promise<void> {
    const stream = handleNode(hub, req, res, {
      topics: [STATS_TOPIC],
      lastEventId: undefined,
      // Every stream the hub opens for a token ends when the token expires (reason token_expired).
      expiresAt: access.expiresAt,
      ...(ctx.clientAddress === undefined ? {} : { remoteAddress: ctx.clientAddress(req) }),
    })
    if (stream === undefined) return // refused (limits, draining): the adapter answered
    const watcher: Watcher = { stream, res: res as unknown as WatcherResponse }
    watchers.add(watcher)
    sampler.retain()
    stream.signal.addEventListener(
      'abort',
      () => {
        watchers.delete(watcher)
        sampler.release()
      },
      { once: true },
    )
  }

  async function serveAsset(
    req: Req,
    res: Res,
    pick: (a: DashboardAssets) => Asset,
    page: boolean,
  ): Promise<void> {
    let loaded: DashboardAssets
    try {
      loaded = await assets(logger)
    } catch (error) {
      sendError(
        res,
        new HttpError('internal_error', `The dashboard page is unavailable: ${(error as Error).message}.`),
      )
      return
    }
    const asset = pick(loaded)
    const versioned = !page && new URL(req.url ?? '/', 'http://localhost').searchParams.has('v')
    res.setHeader('content-type', asset.contentType)
    res.setHeader('etag', asset.etag)
    res.setHeader('vary', 'accept-encoding')
    res.setHeader('cache-control', versioned ? 'public, max-age=31536000, immutable' : 'no-cache')
    if (page) for (const [name, value] of Object.entries(PAGE_HEADERS)) res.setHeader(name, value)
    if (req.headers['if-none-match'] === asset.etag) {
      res.statusCode = 304
      res.end()
      return
    }
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))
    const body = gzip ? asset.gzip : asset.body
    if (gzip) res.setHeader('content-encoding', 'gzip')
    res.setHeader('content-length', body.length)
    res.statusCode = 200
    if (req.method === 'HEAD') res.end()
    else res.end(body)
  }

  async function handle(req: Req, res: Res, url: URL): Promise<boolean> {
    const path = url.pathname
    const isPage = path === '/' || path === '/dashboard' || path === '/dashboard/'
    if (!isPage && !path.startsWith('/dashboard/')) return false
    const route = isPage ? 'page' : ROUTES.get(path)
    if (route === undefined) return false
    // A stream has no HEAD form: HEAD would open a stream with no body to send it in.
    const allowHead = route !== 'stream'
    if (req.method !== 'GET' && !(allowHead && req.method === 'HEAD')) {
      const allow = allowHead ? 'GET, HEAD' : 'GET'
      sendError(res, new HttpError('method_not_allowed', `${path} answers ${allow} only.`, { allow }))
      return true
    }
    switch (route) {
      case 'page':
        await serveAsset(req, res, (a) => a.html, true)
        return true
      case 'js':
        await serveAsset(req, res, (a) => a.js, false)
        return true
      case 'css':
        await serveAsset(req, res, (a) => a.css, false)
        return true
    }
    // Everything below shows connection data: admin only when auth is on.
    const access = await requireAdmin(req, res)
    if (access === false) return true
    switch (route) {
      case 'stream':
        await openStatsStream(req, res, access)
        return true
      case 'stats':
        sendJson(res, 200, { now: sampler.snapshot(), recent: sampler.recent() })
        return true
      case 'connections': {
        let query: ReturnType<typeof parseConnectionQuery>
        try {
          query = parseConnectionQuery(url.searchParams)
        } catch (error) {
          sendError(res, new HttpError('bad_request', (error as Error).message))
          return true
        }
        const all = ctx.listConnections ? await ctx.listConnections() : hub.connections()
        sendJson(res, 200, queryConnections(all, query, Date.now()))
        return true
      }
    }
  }

  return { handle, sampler }
}

type Route = 'page' | 'js' | 'css' | 'stream' | 'stats' | 'connections'

const ROUTES: ReadonlyMap<string, Route> = new Map<string, Route>([
  ['/dashboard/app.js', 'js'],
  ['/dashboard/app.css', 'css'],
  ['/dashboard/stats', 'stream'],
  ['/dashboard/api/stats', 'stats'],
  ['/dashboard/api/connections', 'connections'],
])
