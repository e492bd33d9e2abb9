/**
 * `lifeline doctor <url>`: opens the stream the way a browser would (through whatever proxies are in
 * front), publishes a marker event, reconnects with Last-Event-ID, and watches the stream for a
 * while, then gives a verdict per check with the fix.
 */
import { RESET_EVENT } from 'lifeline-sse/protocol'
import {
  type CheckResult,
  checkCaching,
  checkCompression,
  checkContentType,
  checkDelivery,
  checkFirstBytes,
  checkHeartbeat,
  checkIdleTimeout,
  checkResume,
  checkStatus,
  DELIVERY_FAIL_MS,
} from './checks.ts'

import { openProbe, type Probe, type TimedEvent } from './probe.ts'

export interface DoctorOptions {
  /** The stream URL (e.g. `https://sse.example.com/events`). */
  url: string
  /** Where to POST the marker events. @default `/publish` on the stream URL's origin. `false`: no publish
   *  (delivery and resume checks are skipped). */
  publishUrl?: string | false
  /** Topic the doctor subscribes to and publishes on (it sets `?topic=` on the URL). @default `lifeline-doctor` */
  topic?: string
  /** Bearer token for subscribe and publish (auth on). */
  token?: string
  /** How long to watch the stream for heartbeats and idle cuts, ms. Make it longer than the idle timeout
   *  you suspect, and at least two heartbeats. @default 35_000 */
  watchMs?: number
  /** How long to wait for the response headers, ms. @default 10_000 */
  connectTimeoutMs?: number
  /** How long to wait for a published event before calling it buffered, ms. @default 5_000 */
  deliveryTimeoutMs?: number
  /** Called with each check as soon as its verdict is known (the CLI prints as it goes). */
  onCheck?: (check: CheckResult) => void
}

export interface DoctorReport {
  readonly url: string
  readonly checks: CheckResult[]
  /** True when no check failed (warnings allowed). */
  readonly ok: boolean
}

export const DEFAULT_TOPIC = 'lifeline-doctor'
export const DEFAULT_WATCH_MS = 35_000
const DEFAULT_DELIVERY_TIMEOUT_MS = 5_000
/** Let the stream settle (subscription registered on the hub) before publishing into it. */
const SETTLE_MS = 200

/** The URL the doctor actually opens: the given one with `?topic=` set (unless publishing is off). */
export function doctorStreamUrl(options: Pick<DoctorOptions, 'url' | 'publishUrl' | 'topic'>): URL {
  const url = new URL(options.url)
  if (options.publishUrl !== false) url.searchParams.set('topic', options.topic ?? DEFAULT_TOPIC)
  return url
}

function publishTarget(options: DoctorOptions): URL | undefined {
  if (options.publishUrl === false) return undefined
  return new URL(options.publishUrl ?? '/publish', options.url)
}

function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {}
}

/** POSTs one marker event; resolves with the hub's id, or an error sentence. */
async function publish(
  target: URL,
  topic: string,
  data: string,
  token: string | undefined,
): Promise<{ id: string; ackedAt: number } | { error: string }> {
  try {
    const res = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authHeaders(token) },
      body: JSON.stringify({ topic, data, event: 'doctor' }),
      signal: AbortSignal.timeout(5_000),
    })
    const text = await res.text()
    if (res.status !== 201 && res.status !== 200)
      return { error: `POST ${target.pathname} answered ${res.status} ${text.slice(0, 160)}` }
    const ackedAt = performance.now()
    const body = JSON.parse(text) as { id?: unknown }
    return typeof body.id === 'string'
      ? { id: body.id, ackedAt }
      : { error: `POST ${target.pathname} answered no id` }
  } catch (error) {
    return { error: `POST ${target} failed: ${(error as Error).message}` }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const checks: CheckResult[] = []
  const add = (check: CheckResult): void => {
    checks.push(check)
    options.onCheck?.(check)
  }
  const url = doctorStreamUrl(options)
  const topic = url.searchParams.get('topic') ?? DEFAULT_TOPIC
  const watchMs = options.watchMs ?? DEFAULT_WATCH_MS
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS
  const headers = authHeaders(options.token)
  const nonce = `${process.pid}-${Date.now()}`
  const report = (): DoctorReport => ({
    url: url.href,
    checks,
    ok: checks.every((c) => c.verdict !== 'fail'),
  })

  let probe: Probe
  try {
    probe = await openProbe(url, { headers, connectTimeoutMs: options.connectTimeoutMs ?? 10_000 })
  } catch (error) {
    const message = (error as Error).message
    const noHeaders = message.startsWith('no response headers')
    add({
      name: 'status',
      verdict: 'fail',
      detail: `no response: ${message}`,
      fix: noHeaders
        ? 'the connection was accepted but the headers never came: a proxy holds the whole response back (buffering or compression of text/event-stream; nginx sends no header before its first gzip block). Turn both off for the stream route, see deploy/'
        : 'check the URL, DNS, TLS and that the proxy listens',
    })
    return report()
  }
  try {
    add(checkStatus(probe))
    if (probe.status !== 200) return report()
    add(checkContentType(probe))
    add(checkCaching(probe))
    add(checkCompression(probe))
    await probe.waitFor(() => probe.firstByteAt >= 0, 2_000, 'the first byte').catch(() => undefined)
    add(checkFirstBytes(probe))

    // Delivery: a marker event published now must arrive at once, not when the next bytes push it out.
    const target = publishTarget(options)
    let first: TimedEvent | undefined
    if (target === undefined) {
      add({
        name: 'delivery',
        verdict: 'skip',
        detail: 'no publish URL',
        fix: 'run without --no-publish to measure it',
      })
    } else {
      await sleep(SETTLE_MS)
      // A first, unmeasured marker opens the publisher's connection (TCP, TLS), so the measure below is
      // the stream path only. Its result says whether publishing works at all.
      const warm = await publish(target, topic, `doctor-0-${nonce}`, options.token)
      if (!('error' in warm)) {
        await probe
          .waitForEvent((e) => e.data === `doctor-0-${nonce}`, deliveryTimeoutMs)
          .catch(() => undefined)
      }
      const sentAt = probe.now()
      const published = await publish(target, topic, `doctor-1-${nonce}`, options.token)
      if ('error' in published) {
        add({
          name: 'delivery',
          verdict: 'skip',
          detail: published.error,
          fix: 'pass --publish <url> and --token <jwt with publish on the topic>, or --no-publish',
        })
      } else {
        first = await probe
          .waitForEvent((e) => e.data === `doctor-1-${nonce}`, Math.max(deliveryTimeoutMs, DELIVERY_FAIL_MS))
          .catch(() => undefined)
        add(checkDelivery({ sentAt, ackedAt: published.ackedAt - probe.startedAt }, first, deliveryTimeoutMs))
      }
    }

    // Resume: publish a second marker, then open a second stream from the first marker's id.
    const resumeFrom = first?.lastEventId || probe.events.at(-1)?.lastEventId
    if (target === undefined || first === undefined || !resumeFrom) {
      add({
        name: 'resume',
        verdict: 'skip',
        detail: 'no event with an id was received to resume from',
        fix: 'needs the delivery check to pass first',
      })
    } else {
      const second = await publish(target, topic, `doctor-2-${nonce}`, options.token)
      if ('error' in second) {
        add({ name: 'resume', verdict: 'skip', detail: second.error })
      } else {
        let resumed: Probe | undefined
        try {
          resumed = await openProbe(url, {
            headers: { ...headers, 'last-event-id': resumeFrom },
            connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
          })
          const seen = await resumed
            .waitForEvent((e) => e.type === RESET_EVENT || e.data === `doctor-2-${nonce}`, deliveryTimeoutMs)
            .catch(() => undefined)
          add(
            checkResume(
              resumeFrom,
              seen?.type === RESET_EVENT ? seen : undefined,
              seen?.type === RESET_EVENT ? undefined : seen,
            ),
          )
        } catch (error) {
          add({ name: 'resume', verdict: 'fail', detail: `reconnect failed: ${(error as Error).message}` })
        } finally {
          resumed?.close()
        }
      }
    }

    // Heartbeats and idle timeout: watch the first stream until watchMs (or its end).
    const left = watchMs - (probe.now() - probe.headersAt)
    if (left > 0) await probe.waitForEnd(left).catch(() => undefined)
    const watched = Math.min(watchMs, probe.now() - probe.headersAt)
    add(checkHeartbeat(probe, watched))
    add(checkIdleTimeout(probe, watched))
    return report()
  } finally {
    probe.close()
  }
}

/** The report as text: one line per check, the fix indented under it. */
export function formatCheck(check: CheckResult): string {
  const label = check.verdict.toUpperCase().padEnd(4)
  const line = `  ${label}  ${check.name.padEnd(13)} ${check.detail}`
  return check.fix && check.verdict !== 'pass' ? `${line}\n${' '.repeat(21)}fix: ${check.fix}` : line
}

export function formatReport(report: DoctorReport): string {
  const failed = report.checks.filter((c) => c.verdict === 'fail').length
  const warned = report.checks.filter((c) => c.verdict === 'warn').length
  return [
    `lifeline doctor ${report.url}`,
    ...report.checks.map(formatCheck),
    report.ok
      ? `ok: no check failed${warned ? ` (${warned} warning${warned === 1 ? '' : 's'})` : ''}`
      : `${failed} check${failed === 1 ? '' : 's'} failed`,
  ].join('\n')
}
