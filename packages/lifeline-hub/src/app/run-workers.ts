/**
 * `lifeline serve --workers N` (N != 1): the primary process (app/workers/primary.ts) starts the
 * workers, prints where they listen, and on SIGTERM/SIGINT drains every worker and exits 0.
 */

import type { ServeConfig } from './config-options.ts'
import { historyKind } from './history-store.ts'
import type { Logger } from './logging.ts'
import { banner, fail } from './run.ts'
import { drainOnSignals, exitAfterDrain } from './shutdown.ts'
import { type Primary, startPrimary, workerCount, workersUnsupported } from './workers/primary.ts'

export async function serveWorkers(config: ServeConfig, logger: Logger): Promise<void> {
  const unsupported = workersUnsupported()
  if (unsupported !== undefined) fail(unsupported)
  const primaryLog = logger.child({ role: 'primary' })
  let primary: Primary
  try {
    primary = await startPrimary(config, primaryLog)
  } catch (err) {
    fail(`--workers ${workerCount(config)}: ${(err as Error).message}`)
  }
  const url = primary.url
  primaryLog.info(
    { url, workers: primary.workers, tls: config.tlsCert !== undefined, history: historyKind(config) },
    `lifeline hub listening on ${url} (${primary.workers} workers)`,
  )
  if (!config.jwtSecret && !config.jwtPublicKey && !config.jwtJwks) {
    primaryLog.warn(
      'auth is off: anyone who can reach this port may publish and subscribe (set --jwt-secret, --jwt-public-key or --jwt-jwks)',
    )
  }
  // Every worker binds the admin port too (SO_REUSEPORT); with --admin-port 0 each picks its own.
  const adminUrl =
    config.adminPort !== undefined && config.adminPort !== 0
      ? `http://${config.adminHost}:${config.adminPort}`
      : undefined
  process.stderr.write(banner(url, adminUrl, config))
  const drain = exitAfterDrain({
    logger: primaryLog,
    shutdownTimeoutMs: config.shutdownTimeout,
    message: 'draining every worker',
    close: () => primary.stop(),
  })
  drainOnSignals(drain, primaryLog)
}
