/** The human-readable form of a BenchReport (the `--json` form is the object itself). */
import { describeMachine } from './machine.ts'
import type { BenchReport } from './run.ts'

export function formatReport(r: BenchReport): string {
  const o = r.options
  const d = r.delivery
  const l = d.latencyMs
  const lines = [
    `lifeline bench ${r.target}`,
    `machine     ${describeMachine(r.machine)}`,
    `parameters  ${o.connections} streams, ${o.topics} topic(s), ${o.rate} events/s for ${o.durationMs / 1000}s, payload ${o.payloadBytes} B`,
    `connect     ${r.connect.opened}/${o.connections} open${r.connect.allOpenMs === null ? ' (not all)' : ` in ${r.connect.allOpenMs} ms`}; p50 ${r.connect.p50} ms, p99 ${r.connect.p99} ms, max ${r.connect.max} ms`,
    `publish     ${r.publish.sent} sent, ${r.publish.acknowledged} acknowledged, ${r.publish.failed} failed, ${r.publish.skipped} skipped; ack p99 ${r.publish.ackMs.p99} ms`,
    `delivery    ${d.received} of ${d.expected} expected events, ${d.perSecond} events/s`,
    `latency     p50 ${l.p50} ms, p90 ${l.p90} ms, p99 ${l.p99} ms, max ${l.max} ms (publish -> receive)`,
    `integrity   lost ${d.lost}, duplicates ${d.duplicates}, resets ${d.resets}, reordered ${d.reordered}, unsettled ${d.unsettled}`,
    `streams     reconnects ${r.streams.reconnects}, refused ${r.streams.refused}, rejected ${r.streams.rejected}, errors ${r.streams.errors}, ended by server ${r.streams.ended}, timeouts ${r.streams.connectTimeouts + r.streams.heartbeatTimeouts}`,
  ]
  if (r.server) {
    const s = r.server
    lines.push(
      `server      pid ${s.pid}: RSS ${s.rssStartMB} -> peak ${s.rssPeakMB} -> ${s.rssEndMB} MB, CPU ${s.cpuPercent}% of a core, fds ${s.fdsStart} -> ${s.fdsPeak} -> ${s.fdsEnd}` +
        (s.idleBytesPerStream === null
          ? ''
          : `, idle ${(s.idleBytesPerStream / 1024).toFixed(1)} KiB/stream`),
    )
  }
  lines.push(`took        ${(r.durationMs / 1000).toFixed(1)} s`)
  return lines.join('\n')
}
