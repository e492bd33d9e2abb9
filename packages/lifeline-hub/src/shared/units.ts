/**
 * Human units for durations and sizes, as docs/design.md §3 writes them: `500ms`, `15s`, `2m` (or a bare
 * number of milliseconds) and `1MiB` (or a bare number of bytes). Used by the config loader only.
 */

const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i

const MS_PER_UNIT: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }
const BYTES_PER_UNIT: Record<string, number> = {
  b: 1,
  k: 1_024,
  kb: 1_000,
  kib: 1_024,
  m: 1_048_576,
  mb: 1_000_000,
  mib: 1_048_576,
  g: 1_073_741_824,
  gb: 1_000_000_000,
  gib: 1_073_741_824,
}

/** `15s` -> 15000. Returns undefined when the text is not a duration. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined
  const match = DURATION_RE.exec(value.trim())
  if (!match) return undefined
  const unit = (match[2] ?? 'ms').toLowerCase()
  return Math.round(Number(match[1]) * (MS_PER_UNIT[unit] ?? 1))
}

/** `1MiB` -> 1048576. Returns undefined when the text is not a size. */
export function parseSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined
  const match = SIZE_RE.exec(value.trim())
  if (!match) return undefined
  const unit = (match[2] ?? 'b').toLowerCase()
  return Math.round(Number(match[1]) * (BYTES_PER_UNIT[unit] ?? 1))
}

/** 15000 -> `15s`, 0 -> `0`: the shortest exact spelling, for banners and /api output. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0'
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`
  if (ms % 60_000 === 0) return `${ms / 60_000}m`
  if (ms % 1_000 === 0) return `${ms / 1_000}s`
  return `${ms}ms`
}

/** 1048576 -> `1MiB`. */
export function formatSize(bytes: number): string {
  if (bytes !== 0 && bytes % 1_073_741_824 === 0) return `${bytes / 1_073_741_824}GiB`
  if (bytes !== 0 && bytes % 1_048_576 === 0) return `${bytes / 1_048_576}MiB`
  if (bytes !== 0 && bytes % 1_024 === 0) return `${bytes / 1_024}KiB`
  return `${bytes}B`
}
