/**
 * The doctor's verdicts: pure functions over what a probe saw. Each returns one line of the report
 * with, when something is wrong, the fix for the hub and for the proxies in front of it.
 */
import type { Probe, TimedEvent } from './probe.ts'

export type Verdict = 'pass' | 'warn' | 'fail' | 'skip'

export interface CheckResult {
  readonly name: string
  readonly verdict: Verdict
  readonly detail: string
  /** What to change, when the verdict is warn or fail (or how to run a skipped check). */
  readonly fix?: string
}

/** An event arriving this long after its publish was acknowledged was held by something on the path. */
export const HELD_WARN_MS = 100
/** Above this (or never), an event is being buffered: a user waits for the next event to push it out. */
export const DELIVERY_FAIL_MS = 1_000
/** The hub writes `retry:` and a comment at once; a generic server should at least flush headers. */
export const FIRST_BYTE_WARN_MS = 1_000

const BUFFERING_FIX =
  'turn response buffering off for the stream route: nginx `proxy_buffering off;` (and do not ignore ' +
  '`X-Accel-Buffering`) and no gzip of text/event-stream; HAProxy `option http-no-delay` (else ~200 ms per ' +
  'event) and no `compression` for it; Caddy `flush_interval -1`; ' +
  'CDNs: bypass caching for text/event-stream. See deploy/ and docs/operations.md.'

function seconds(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`
}

export function checkStatus(probe: Probe): CheckResult {
  const took = `${Math.round(probe.headersAt)} ms`
  if (probe.status === 200) {
    return {
      name: 'status',
      verdict: 'pass',
      detail: `200 over HTTP/${probe.httpVersion}, headers in ${took}`,
    }
  }
  const body = probe.errorBody.replace(/\s+/g, ' ').trim().slice(0, 200)
  let fix = 'the stream URL must answer 200 (an EventSource gives up for good on other statuses)'
  if (probe.status === 401 || probe.status === 403)
    fix = 'pass a subscriber token: --token <jwt> (or check its topics)'
  else if (probe.status === 404)
    fix = 'check the path (the hub serves GET /events?topic=...) and the proxy location'
  else if (probe.status === 502 || probe.status === 504)
    fix = 'the proxy cannot reach a hub: check its upstream addresses'
  return {
    name: 'status',
    verdict: 'fail',
    detail: `${probe.status}${body ? ` ${body}` : ''} in ${took}`,
    fix,
  }
}

export function checkContentType(probe: Probe): CheckResult {
  const type = String(probe.headers['content-type'] ?? '')
  if (/^text\/event-stream\b/i.test(type)) return { name: 'content-type', verdict: 'pass', detail: type }
  return {
    name: 'content-type',
    verdict: 'fail',
    detail: type === '' ? 'no Content-Type' : type,
    fix: 'answer with `Content-Type: text/event-stream` (EventSource fails the connection otherwise); a proxy must not rewrite it',
  }
}

export function checkCaching(probe: Probe): CheckResult {
  const cacheControl = String(probe.headers['cache-control'] ?? '')
  if (/\bno-(cache|store)\b/i.test(cacheControl)) {
    return { name: 'caching', verdict: 'pass', detail: `Cache-Control: ${cacheControl}` }
  }
  return {
    name: 'caching',
    verdict: 'fail',
    detail: cacheControl === '' ? 'no Cache-Control header' : `Cache-Control: ${cacheControl}`,
    fix: 'send `Cache-Control: no-cache` on the stream, and keep caches (proxy_cache, CDN) off the route: a cache holds the stream back or replays a stale one',
  }
}

export function checkCompression(probe: Probe): CheckResult {
  const encoding = String(probe.headers['content-encoding'] ?? '')
  if (encoding === '' || encoding.toLowerCase() === 'identity') {
    return {
      name: 'compression',
      verdict: 'pass',
      detail: 'not compressed (asked with Accept-Encoding: gzip, deflate, br)',
    }
  }
  return {
    name: 'compression',
    verdict: 'fail',
    detail: `Content-Encoding: ${encoding}`,
    fix: 'do not compress text/event-stream: nginx `gzip off;` in the stream location (or drop it from gzip_types), no HAProxy `compression` for it, CDN compression off for the route',
  }
}

export function checkFirstBytes(probe: Probe): CheckResult {
  if (probe.firstByteAt < 0) {
    return {
      name: 'first-bytes',
      verdict: 'fail',
      detail: 'no byte of the body arrived',
      fix: `the server should write something at once (the hub writes \`retry:\` and a comment); if it does, a proxy is buffering: ${BUFFERING_FIX}`,
    }
  }
  const after = probe.firstByteAt - probe.headersAt
  const retry = probe.retry === undefined ? 'no retry: field' : `retry: ${probe.retry} ms`
  if (after <= FIRST_BYTE_WARN_MS) {
    return {
      name: 'first-bytes',
      verdict: 'pass',
      detail: `${Math.round(after)} ms after the headers (${retry})`,
    }
  }
  return {
    name: 'first-bytes',
    verdict: 'warn',
    detail: `${Math.round(after)} ms after the headers (${retry})`,
    fix: `write a first comment right away so clients and proxies see the stream is live; if the server does, ${BUFFERING_FIX}`,
  }
}

/** When the doctor's publish request went out, and when its 201 came back (ms on the probe's clock). */
export interface PublishTiming {
  readonly sentAt: number
  readonly ackedAt: number
}

/**
 * The event travels publisher -> hub -> subscriber while the acknowledgement travels hub -> publisher,
 * so on a clean path the event arrives about when the 201 does, whatever the network's latency. How
 * long after the 201 it arrives is what the path held it back.
 */
export function checkDelivery(
  timing: PublishTiming,
  event: TimedEvent | undefined,
  waitedMs: number,
): CheckResult {
  if (event === undefined) {
    return {
      name: 'delivery',
      verdict: 'fail',
      detail: `a published event did not arrive within ${seconds(waitedMs)}: it is held back (buffered)`,
      fix: BUFFERING_FIX,
    }
  }
  const latency = Math.round(event.at - timing.sentAt)
  const held = Math.round(event.at - timing.ackedAt)
  const detail =
    held > 0
      ? `published event arrived ${latency} ms after the publish, ${held} ms after the hub acknowledged it`
      : `published event arrived ${latency} ms after the publish, before the hub's acknowledgement`
  if (held <= HELD_WARN_MS) return { name: 'delivery', verdict: 'pass', detail }
  if (held <= DELIVERY_FAIL_MS) {
    return {
      name: 'delivery',
      verdict: 'warn',
      detail: `${detail}: something on the path holds small writes`,
      fix: BUFFERING_FIX,
    }
  }
  return {
    name: 'delivery',
    verdict: 'fail',
    detail: `${detail}: it was held back (buffered)`,
    fix: BUFFERING_FIX,
  }
}

/** The gaps between consecutive arrivals after the first `from` ms, in ms. */
function gaps(times: readonly number[]): number[] {
  const out: number[] = []
  for (let i = 1; i < times.length; i++) out.push((times[i] as number) - (times[i - 1] as number))
  return out
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

/** Heartbeats: comment lines after the first one (which the hub sends when the stream opens). */
export function checkHeartbeat(probe: Probe, watchedMs: number): CheckResult {
  const times = probe.comments.map((c) => c.at)
  const beats = times.slice(1)
  if (beats.length === 0) {
    return {
      name: 'heartbeat',
      verdict: 'fail',
      detail: `no heartbeat comment arrived in ${seconds(watchedMs)}`,
      fix: 'send a comment line (`: ping`) more often than the shortest idle timeout on the path (hub: --heartbeat 15s, the default); if the server does, a proxy is buffering or stripping them',
    }
  }
  const interval = beats.length >= 2 ? median(gaps(beats)) : (beats[0] as number) - (times[0] as number)
  return {
    name: 'heartbeat',
    verdict: 'pass',
    detail: `${beats.length} heartbeat${beats.length === 1 ? '' : 's'}, about every ${seconds(interval)}`,
  }
}

/** What the stream's end (or survival) says about the idle timeout of the path. */
export function checkIdleTimeout(probe: Probe, watchedMs: number): CheckResult {
  const arrivals = probe.chunks.map((c) => c.at)
  const longestSilence = Math.max(0, ...gaps([probe.headersAt, ...arrivals]))
  const end = probe.end
  if (end === undefined || (end.error ?? '').includes('closed by the client')) {
    return {
      name: 'idle-timeout',
      verdict: 'pass',
      detail: `stream stayed open ${seconds(watchedMs)}; longest silence ${seconds(longestSilence)}: any idle timeout above that is safe`,
    }
  }
  const silence = end.at - probe.lastByteAt()
  const lived = end.at - probe.headersAt
  const heartbeat =
    probe.comments.length >= 3 ? median(gaps(probe.comments.slice(1).map((c) => c.at))) : undefined
  // Cut after a silence longer than the usual heartbeat gap: an idle timeout of about that silence.
  if (heartbeat === undefined || silence > heartbeat * 1.5) {
    return {
      name: 'idle-timeout',
      verdict: 'fail',
      detail: `stream cut (${end.kind}${end.error ? `: ${end.error}` : ''}) after ${seconds(silence)} without a byte (open ${seconds(lived)}): an idle timeout of about ${seconds(silence)} on the path`,
      fix: `make the heartbeat shorter than ${seconds(silence)} (hub --heartbeat), or raise the proxy's idle timeout (nginx proxy_read_timeout, HAProxy timeout server/client, ALB idle timeout) well above the heartbeat`,
    }
  }
  return {
    name: 'idle-timeout',
    verdict: 'warn',
    detail: `stream ended after ${seconds(lived)} while heartbeats flowed (last byte ${seconds(silence)} before): a lifetime limit, not an idle timeout`,
    fix: 'fine if it is the hub --max-lifetime; otherwise a proxy caps stream duration (e.g. HAProxy timeout tunnel, a CDN limit): clients reconnect and resume, set --max-lifetime below it to end streams cleanly first',
  }
}

/** Resume: the second stream, opened with Last-Event-ID, must replay what came after it and no reset. */
export function checkResume(
  resumedFrom: string,
  reset: TimedEvent | undefined,
  replayed: TimedEvent | undefined,
): CheckResult {
  if (reset !== undefined) {
    return {
      name: 'resume',
      verdict: 'fail',
      detail: `Last-Event-ID ${resumedFrom} answered with ${reset.type}: ${reset.data}`,
      fix: 'the node that took the reconnect does not know the id: share history between hubs (--redis), keep it long enough (--history-size, --history-ttl), or use --history-file for a single node that restarts',
    }
  }
  if (replayed === undefined) {
    return {
      name: 'resume',
      verdict: 'fail',
      detail: `Last-Event-ID ${resumedFrom} did not replay the event published after it`,
      fix: 'the proxy must pass the Last-Event-ID header through, and the server must replay from it',
    }
  }
  return { name: 'resume', verdict: 'pass', detail: `Last-Event-ID ${resumedFrom} replayed the missed event` }
}
