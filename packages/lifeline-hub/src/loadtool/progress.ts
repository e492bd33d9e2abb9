/**
 * The progress line on stderr: redrawn in place on a terminal, one plain line every few seconds
 * otherwise (CI logs), nothing with `quiet`.
 */
import type { Progress } from './run.ts'

const BAR_WIDTH = 24
/** Without a terminal, print a line this often, in ms. */
const PLAIN_EVERY_MS = 5000

export function progressPrinter(
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
): (p: Progress) => void {
  let lastPlain = -PLAIN_EVERY_MS
  let lastEvents = 0
  let lastAt = 0
  let rate = 0
  return (p) => {
    if (p.elapsedMs - lastAt >= 1000) {
      rate = Math.round(((p.counters.events - lastEvents) * 1000) / Math.max(1, p.elapsedMs - lastAt))
      lastEvents = p.counters.events
      lastAt = p.elapsedMs
    }
    const fraction =
      p.phase === 'connect' ? p.counters.open / total : Math.min(1, p.phaseMs / Math.max(1, p.phaseTotalMs))
    const filled = Math.round(fraction * BAR_WIDTH)
    const bar = `${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}`
    const c = p.counters
    const line =
      `${p.phase.padEnd(7)} [${bar}] ${(p.elapsedMs / 1000).toFixed(1)}s open ${c.open}/${total}` +
      ` published ${p.published} received ${c.events} (${rate}/s) dup ${c.duplicates}` +
      ` reconnects ${c.reconnects} refused ${c.refused + c.rejected}`
    if (stream.isTTY) stream.write(`\r\x1b[2K${line}`)
    else if (p.elapsedMs - lastPlain >= PLAIN_EVERY_MS) {
      lastPlain = p.elapsedMs
      stream.write(`${line}\n`)
    }
  }
}

export function clearProgress(stream: NodeJS.WriteStream = process.stderr): void {
  if (stream.isTTY) stream.write('\r\x1b[2K')
}
