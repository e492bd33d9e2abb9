/**
 * Runs the hub process: resolve config (one clear line and exit 1 on a bad setting), start the app,
 * print where it listens and what to try, drain on SIGTERM/SIGINT and exit 0.
 */

import { LifelineError } from 'lifeline-sse/protocol'
import { type App, createApp } from './app.ts'
import type { ConfigKey, ServeConfig } from './config-options.ts'
import { OPTIONS } from './config-options.ts'
import { resolveConfig } from './config-resolve.ts'
import { historyKind } from './history-store.ts'
import { createLogger } from './logging.ts'
import { drainOnSignals, exitAfterDrain } from './shutdown.ts'

export function fail(message: string): never {
  process.stderr.write(`lifeline: ${message}\n`)
  process.exit(1)
}

export async function runServe(flags: Record<string, unknown>): Promise<void> {
  const given: Partial<Record<ConfigKey, unknown>> = {}
  for (const o of OPTIONS) if (flags[o.key] !== undefined) given[o.key] = flags[o.key]
  let config: ServeConfig
  try {
    config = resolveConfig({
      flags: given,
      env: process.env,
      configFile: flags['config'] as string | undefined,
    })
  } catch (err) {
    if (err instanceof LifelineError) fail(err.message)
    throw err
  }
  const logger = createLogger(config.logLevel)
  if (config.workers !== 1) {
    const { serveWorkers } = await import('./run-workers.ts')
    await serveWorkers(config, logger)
    return
  }
  let app: App
  try {
    app = await createApp(config, { logger })
  } catch (err) {
    if (err instanceof LifelineError) fail(err.message)
    throw err
  }
  let url: string
  try {
    url = await app.listen()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    fail(
      code === 'EADDRINUSE'
        ? `port ${config.port} on ${config.host} is in use: pick another with --port (or LIFELINE_PORT)`
        : `cannot listen on ${config.host}:${config.port} (${(err as Error).message})`,
    )
  }
  const auth = config.jwtSecret
    ? 'HS256 secret'
    : config.jwtPublicKey
      ? 'public key'
      : config.jwtJwks
        ? 'JWKS'
        : 'off'
  logger.info(
    {
      url,
      ...(app.adminUrl === undefined ? {} : { adminUrl: app.adminUrl }),
      tls: config.tlsCert !== undefined,
      auth,
      history: historyKind(config),
    },
    `lifeline hub listening on ${url}`,
  )
  if (auth === 'off') {
    logger.warn(
      'auth is off: anyone who can reach this port may publish and subscribe (set --jwt-secret, --jwt-public-key or --jwt-jwks)',
    )
  }
  if (WILDCARD_HOSTS.has(config.host) && config.allowedHosts.length === 0) {
    logger.warn(
      { host: config.host },
      'listening on every interface: requests are answered for IP addresses and localhost only; add the names clients use with --allowed-hosts (docs/hub.md, Browser guards)',
    )
  }
  if (!app.hub.ready()) {
    // Not a fault yet: the node is connecting. The history store logs "connected" once it reads
    // Redis, or the reason it cannot (history-store.ts).
    logger.info(
      { redis: redactUrl(config.redis) },
      'history backend connecting: /readyz and publish answer 503 until it reads the stream',
    )
  }
  process.stderr.write(banner(url, app.adminUrl, config))

  const drain = exitAfterDrain({
    logger,
    shutdownTimeoutMs: config.shutdownTimeout,
    message: 'draining: readiness fails, streams are closed with a retry hint',
    close: () => app.close(),
  })
  drainOnSignals(drain, logger)
}

/** Addresses that bind every interface. */
const WILDCARD_HOSTS: ReadonlySet<string> = new Set(['0.0.0.0', '::', '[::]'])

export function banner(url: string, adminUrl: string | undefined, config: ServeConfig): string {
  const ops = adminUrl ?? url
  const k = config.tlsCert ? ' -k' : ''
  const auth =
    config.jwtSecret || config.jwtPublicKey || config.jwtJwks ? ' -H "Authorization: Bearer $TOKEN"' : ''
  return [
    '',
    `  Lifeline hub on ${url}`,
    '',
    `  subscribe  curl -N${k}${auth} '${url}/events?topic=demo'`,
    `  publish    curl${k}${auth} -H 'content-type: application/json' -d '{"topic":"demo","data":"hello"}' ${url}/publish`,
    `  metrics    ${ops}/metrics`,
    `  health     ${ops}/healthz   ${ops}/readyz`,
    `  streams    ${ops}/api/connections`,
    `  dashboard  ${ops}/`,
    '',
    '',
  ].join('\n')
}

/** A Redis URL without its password, for logs. */
function redactUrl(url: string | undefined): string | undefined {
  if (!url) return url
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.href
  } catch {
    return 'invalid url'
  }
}
