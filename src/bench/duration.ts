/** `500ms`, `15s`, `2m`, `1h` or a plain number of milliseconds, as DESIGN.md §3 writes durations. */
import { LifelineError } from '../protocol/errors.ts'

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

export function parseDuration(text: string | number): number {
  if (typeof text === 'number') return text
  const match = DURATION.exec(text.trim())
  if (!match)
    throw new LifelineError(
      'LIFELINE_ERR_BENCH_OPTION',
      `"${text}" is not a duration: use e.g. 500ms, 15s, 2m or a number of ms`,
    )
  return Math.round(Number(match[1]) * (UNIT_MS[match[2] ?? 'ms'] as number))
}
