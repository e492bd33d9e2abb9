/**
 * A log-bucketed latency histogram: fixed memory, O(1) record, mergeable across workers by adding
 * counts. Values are in microseconds; bucket i holds values in [GROWTH^i, GROWTH^(i+1)), so every
 * percentile is within 1% of the true value. 2100 buckets cover 1 us to ~20 minutes.
 */
const GROWTH = 1.01
const LOG_GROWTH = Math.log(GROWTH)
const BUCKETS = 2100

export class Histogram {
  readonly counts: Float64Array
  count = 0
  max = 0
  sum = 0

  constructor(counts?: ArrayLike<number>) {
    this.counts = new Float64Array(BUCKETS)
    if (counts) this.merge({ counts, count: 0, max: 0, sum: 0 })
  }

  /** Records one value in microseconds (negative values count as 0). */
  record(us: number): void {
    const v = Math.max(us, 1)
    let i = Math.floor(Math.log(v) / LOG_GROWTH)
    if (i >= BUCKETS) i = BUCKETS - 1
    this.counts[i] = (this.counts[i] as number) + 1
    this.count++
    this.sum += v
    if (v > this.max) this.max = v
  }

  merge(other: { counts: ArrayLike<number>; count: number; max: number; sum: number }): void {
    let added = 0
    for (let i = 0; i < BUCKETS; i++) {
      const c = other.counts[i] ?? 0
      if (c > 0) {
        this.counts[i] = (this.counts[i] as number) + c
        added += c
      }
    }
    this.count += other.count || added
    this.sum += other.sum
    if (other.max > this.max) this.max = other.max
  }

  /** The value at quantile q (0..1), in microseconds; 0 when empty. */
  quantile(q: number): number {
    if (this.count === 0) return 0
    const rank = Math.ceil(q * this.count)
    let seen = 0
    for (let i = 0; i < BUCKETS; i++) {
      const c = this.counts[i] as number
      seen += c
      if (seen >= rank && c > 0) return Math.min(GROWTH ** (i + 0.5), this.max)
    }
    return this.max
  }

  /** Sparse form for IPC: [bucket, count] pairs of the non-empty buckets. */
  toJSON(): { buckets: [number, number][]; count: number; max: number; sum: number } {
    const buckets: [number, number][] = []
    for (let i = 0; i < BUCKETS; i++) {
      const c = this.counts[i] as number
      if (c > 0) buckets.push([i, c])
    }
    return { buckets, count: this.count, max: this.max, sum: this.sum }
  }

  static fromJSON(json: { buckets: [number, number][]; count: number; max: number; sum: number }): Histogram {
    const h = new Histogram()
    for (const [i, c] of json.buckets) h.counts[i] = (h.counts[i] as number) + c
    h.count = json.count
    h.max = json.max
    h.sum = json.sum
    return h
  }
}

export type LatencySummary = {
  count: number
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

/** Percentiles in milliseconds, rounded to 0.01 ms. */
export function summarize(h: Histogram): LatencySummary {
  const ms = (us: number) => Math.round(us / 10) / 100
  return {
    count: h.count,
    p50: ms(h.quantile(0.5)),
    p90: ms(h.quantile(0.9)),
    p99: ms(h.quantile(0.99)),
    max: ms(h.max),
    mean: ms(h.count === 0 ? 0 : h.sum / h.count),
  }
}
