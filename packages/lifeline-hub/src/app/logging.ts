/**
 * Logs (docs/design.md §6): pino JSON, pretty when stdout is a terminal. Connection lifecycle only:
 * `connection open` info, `connection idle` warn, `connection close` info for normal reasons, warn for
 * timeouts and slow consumers, error for faults. Nothing is logged per event.
 */

import { createRequire } from 'node:module'
import type { CloseReason, Hub } from 'lifeline-sse/server'
import { type Logger, pino } from 'pino'
import type { LogLevel } from './config-options.ts'

export type { Logger }

export function createLogger(level: LogLevel, options: { pretty?: boolean } = {}): Logger {
  const usePretty = options.pretty ?? process.stdout.isTTY === true
  const base = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }
  if (usePretty) {
    // Loaded only for a terminal: servers writing JSON never pay for the pretty printer.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty')
    return pino(base, pretty({ colorize: true, sync: true, ignore: 'pid,hostname' }))
  }
  return pino(base)
}

const CLOSE_LEVEL: Record<CloseReason, 'info' | 'warn' | 'error'> = {
  client_closed: 'info',
  ended: 'info',
  max_lifetime: 'info',
  token_expired: 'info',
  shutdown: 'info',
  idle_timeout: 'warn',
  write_timeout: 'warn',
  buffer_overflow: 'warn',
  error: 'error',
}

/** Subscribes the logger to the hub's lifecycle events. Returns an unsubscribe function. */
export function logConnections(hub: Hub, logger: Logger): () => void {
  const offs = [
    hub.on('open', (info) => {
      logger.info(
        { conn: info.id, address: info.remoteAddress, topics: info.topics, ua: info.userAgent },
        'connection open',
      )
    }),
    hub.on('idle', (info) => {
      logger.warn(
        { conn: info.id, address: info.remoteAddress, lastWriteAt: info.lastWriteAt },
        'connection idle',
      )
    }),
    hub.on('close', (info, reason, durationMs) => {
      logger[CLOSE_LEVEL[reason]](
        {
          conn: info.id,
          address: info.remoteAddress,
          reason,
          durationMs: Math.round(durationMs),
          bytes: info.bytesSent,
          events: info.eventsSent,
        },
        'connection close',
      )
    }),
    hub.on('reject', (reason, remoteAddress) => {
      logger.warn({ reason, address: remoteAddress }, 'connection rejected')
    }),
  ]
  return () => {
    for (const off of offs) off()
  }
}
