/**
 * Process shutdown of `lifeline serve` (one process, the primary of --workers, and each worker): drain
 * once, exit 0 when drained, exit 1 when the drain fails or hangs past shutdownTimeout plus a grace.
 * SIGTERM/SIGINT start the drain; a second signal during the drain exits at once (exit 1).
 */
import type { Logger } from './logging.ts'

/** Past shutdownTimeout plus this, a drain that hangs ends the process anyway (exit 1). */
const EXIT_GRACE_MS = 5_000

export interface DrainPlan {
  logger: Logger
  shutdownTimeoutMs: number
  /** Logged (info) when the drain starts. */
  message: string
  close(): Promise<void>
  /** Runs after a successful drain, before exit. */
  after?: () => void
}

/** Returns the drain starter: the first call drains and exits; later calls do nothing (see `draining`). */
export function exitAfterDrain(plan: DrainPlan): { (why: string): void; readonly draining: boolean } {
  let draining = false
  const { logger } = plan
  const start = (why: string): void => {
    if (draining) return
    draining = true
    logger.info({ signal: why, shutdownTimeoutMs: plan.shutdownTimeoutMs }, plan.message)
    const hard = setTimeout(() => {
      logger.error('drain did not finish in time: exiting')
      process.exit(1)
    }, plan.shutdownTimeoutMs + EXIT_GRACE_MS)
    hard.unref()
    plan.close().then(
      () => {
        plan.after?.()
        logger.info('stopped')
        logger.flush()
        process.exit(0)
      },
      (err: unknown) => {
        logger.error({ err }, 'drain failed')
        process.exit(1)
      },
    )
  }
  return Object.defineProperty(start, 'draining', { get: () => draining }) as typeof start & {
    readonly draining: boolean
  }
}

/** SIGTERM and SIGINT start `drain`; a second signal while it runs exits now (exit 1). */
export function drainOnSignals(
  drain: { (why: string): void; readonly draining: boolean },
  logger: Logger,
): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (drain.draining) {
        logger.warn({ signal }, 'second signal during drain: exiting now')
        process.exit(1)
      }
      drain(signal)
    })
  }
}
