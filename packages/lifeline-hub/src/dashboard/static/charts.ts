/**
 * The two time-series charts (uPlot, bundled). Each keeps a fixed window of points; a new frame
 * shifts the window by one, so drawing cost stays the same however long the page is open.
 */
import uPlot from 'uplot'
import type { StatsFrame } from '../stats-frame.ts'
import { formatBytes, formatCount } from './format.ts'

/** Points kept: 5 minutes at one frame per second (the server keeps as many for a page that opens). */
export const WINDOW_POINTS = 300
const CHART_HEIGHT = 220

interface SeriesSpec {
  label: string
  color: '--c1' | '--c2' | '--c3'
  scale: 'left' | 'right'
  value: (frame: StatsFrame) => number
  fill?: boolean
}

interface ChartSpec {
  left: (value: number) => string
  right: (value: number) => string
  series: readonly SeriesSpec[]
}

export const STREAMS_CHART: ChartSpec = {
  left: formatCount,
  right: formatCount,
  series: [
    { label: 'open streams', color: '--c1', scale: 'left', value: (f) => f.connections, fill: true },
    { label: 'connects/s', color: '--c2', scale: 'right', value: (f) => f.rates.connects },
    { label: 'disconnects/s', color: '--c3', scale: 'right', value: (f) => f.rates.disconnects },
  ],
}

export const EVENTS_CHART: ChartSpec = {
  left: formatCount,
  right: (v) => formatBytes(v * 1024).replace(' ', '\u2009'),
  series: [
    { label: 'published/s', color: '--c1', scale: 'left', value: (f) => f.rates.published },
    { label: 'delivered/s', color: '--c2', scale: 'left', value: (f) => f.rates.delivered, fill: true },
    { label: 'KiB/s sent', color: '--c3', scale: 'right', value: (f) => f.rates.bytes / 1024 },
  ],
}

/** `#rrggbb` with alpha, for canvas fills (the stylesheet's colours are hex). */
function withAlpha(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color)
  if (hex === null) return color
  const [r, g, b] = hex.slice(1).map((h) => Number.parseInt(h, 16))
  return `rgba(${r}, ${g}, ${b}, ${alpha})`
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888'
}

export class TimeChart {
  readonly #target: HTMLElement
  readonly #spec: ChartSpec
  // Column-oriented, as uPlot wants it: [times, series1, series2, ...].
  readonly #columns: number[][]
  #plot: uPlot | undefined

  constructor(target: HTMLElement, spec: ChartSpec) {
    this.#target = target
    this.#spec = spec
    this.#columns = [[], ...spec.series.map(() => [])]
    this.#build()
    new ResizeObserver(() => this.#resize()).observe(target)
    // Colours come from the stylesheet: rebuild when the system switches between light and dark.
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => this.#build())
  }

  push(frame: StatsFrame): void {
    const columns = this.#columns
    ;(columns[0] as number[]).push(frame.time / 1000)
    this.#spec.series.forEach((series, i) => {
      ;(columns[i + 1] as number[]).push(series.value(frame))
    })
    if ((columns[0] as number[]).length > WINDOW_POINTS) for (const column of columns) column.shift()
  }

  /** Drops every point (the page restarts its data, e.g. with another token). */
  clear(): void {
    for (const column of this.#columns) column.length = 0
  }

  /** Redraws with the points pushed since the last draw. */
  draw(): void {
    this.#plot?.setData(this.#columns as uPlot.AlignedData)
  }

  #size(): { width: number; height: number } {
    return { width: Math.max(200, this.#target.clientWidth), height: CHART_HEIGHT }
  }

  #resize(): void {
    this.#plot?.setSize(this.#size())
  }

  #build(): void {
    this.#plot?.destroy()
    const muted = cssVar('--muted')
    const grid = cssVar('--line')
    const axis = (scale: string, side: 1 | 3, format: (v: number) => string): uPlot.Axis => ({
      scale,
      side,
      stroke: muted,
      grid: { stroke: grid, width: 1, show: side === 3 },
      ticks: { stroke: grid, width: 1 },
      size: side === 1 ? 70 : 56,
      values: (_u, values) => values.map(format),
    })
    this.#plot = new uPlot(
      {
        ...this.#size(),
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: { time: true },
          left: { range: (_u, _min, max) => [0, Math.max(1, max)] },
          right: { range: (_u, _min, max) => [0, Math.max(1, max)] },
        },
        axes: [
          { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } },
          axis('left', 3, this.#spec.left),
          axis('right', 1, this.#spec.right),
        ],
        series: [
          {},
          ...this.#spec.series.map((series): uPlot.Series => {
            const color = cssVar(series.color)
            return {
              label: series.label,
              scale: series.scale,
              stroke: color,
              width: 1.5,
              points: { show: false },
              ...(series.fill === true ? { fill: withAlpha(color, 0.14) } : {}),
            }
          }),
        ],
      },
      this.#columns as uPlot.AlignedData,
      this.#target,
    )
  }
}
