/**
 * `Stream-Cursor` (PROTOCOL.md §10.1): the number of 20-second intervals since 2024-10-09T00:00Z, so
 * a CDN collapses long-polls of one interval and moves on with time. When a client echoes a cursor
 * that is not behind the current interval, the answer jumps ahead by a random 1-3600 s, so a cursor
 * never repeats and a cached empty answer cannot loop.
 */
const EPOCH_MS = Date.UTC(2024, 9, 9)
const INTERVAL_MS = 20_000
const MAX_JITTER_S = 3600

export function nextCursor(now: number, echoed: string | null, random: () => number = Math.random): string {
  const current = Math.floor((now - EPOCH_MS) / INTERVAL_MS)
  const previous = echoed !== null && /^[0-9]{1,15}$/.test(echoed) ? Number(echoed) : -1
  if (previous < current) return String(current)
  const jitterIntervals = Math.max(1, Math.ceil((1 + random() * (MAX_JITTER_S - 1)) / (INTERVAL_MS / 1000)))
  return String(previous + jitterIntervals)
}
