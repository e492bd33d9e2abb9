import type { ServeConfig } from '../../packages/lifeline-hub/src/app/config-options.ts'

/** A hub for the conformance kit: loopback, quiet, a short long-poll (the kit waits 5-20 s at most). */
export function conformanceHubConfig(extra: Partial<ServeConfig> = {}): Partial<ServeConfig> {
  return {
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    streamsLongPoll: 3_000,
    // The kit appends 10 MB in one request and accepts 413 or success. A 413 answered while a loaded
    // machine still sends the body can reach the client as a reset instead (a fetch error), so the
    // kit's hub takes bodies this large, as the reference server does.
    maxBody: 16 * 1024 * 1024,
    // Receiving that body on a loaded 2-core machine (the reference server shares this process in
    // conformance-memory) can take longer than the default 10 s; the kit waits up to 30 s.
    requestTimeout: 30_000,
    // The kit's fetch reuses idle keep-alive sockets; one reused just as the server's keep-alive timer
    // closes it fails with "other side closed" (seen on the reference server too, on a loaded machine).
    // A long keep-alive keeps that race away from the kit's idle gaps.
    keepAliveTimeout: 30_000,
    // The kit's CORS preflight test sends this origin.
    corsOrigin: ['https://example.com'],
    ...extra,
  }
}
