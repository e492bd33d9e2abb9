import type { ServeConfig } from '../../packages/lifeline-hub/src/app/config-options.ts'

/** A hub for the conformance kit: loopback, quiet, a short long-poll (the kit waits 5-20 s at most). */
export function conformanceHubConfig(extra: Partial<ServeConfig> = {}): Partial<ServeConfig> {
  return {
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    streamsLongPoll: 3_000,
    // The kit's CORS preflight test sends this origin.
    corsOrigin: ['https://example.com'],
    ...extra,
  }
}
