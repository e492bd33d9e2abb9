/**
 * The four time-series charts (uPlot, bundled): open streams, connects and disconnects per second,
 * events per second, bytes sent per second. Each keeps a fixed window of points; a new frame
 * shifts the window by one, so drawing cost stays the same however long the page is open.
 */
import uPlot from 'uplot'
import type { StatsFrame } from '../stats-frame.ts'
import { formatBytes, formatCount } from './format.ts'

/** Points kept: 5 minutes at one frame per second (the server keeps as many for a page that opens). */
export const WINDOW_POINTS = 300
const CHART_HEIGHT = 180
/** Room between axis labels, CSS px: time labels ("6:05:30 PM") need more than numbers. */
const X_LABEL_SPACE = 90
/** Height of the time axis, CSS px: one line of labels. */
const X_AXIS_HEIGHT = 32
const Y_LABEL_SPACE = 28
/** The y axis ends this much above the highest point. */
const HEADROOM = 1.15
/** Width of one digit of the 12 px axis font, for sizing the y axis to its longest label. */
const AXIS_CHAR_PX = 7.5

interface SeriesSpec {
  label: string
  color: '--c1' | '--c2' | '--c3'
  value: (frame: StatsFrame) => number
  fill?: boolean
}

/**
 * One chart, one unit, one y axis: a series is never drawn against another series' scale. (Two
 * auto-ranged axes on one plot put a 0-1 rate spike above 8 open streams, and laid bytes/s exactly
 * over delivered/s, since one is proportional to the other.)
 */
export interface ChartSpec {
  format: (value: number) => string
  /** Tick steps; uPlot's decimal ones when omitted. */
  steps?: number[]
  series: readonly SeriesSpec[]
}

/** 1, 2, 5 ... 500 of each binary unit: byte ticks read 100 KiB, 200 KiB, 1 MiB, not 97.7 KiB. */
const BINARY_STEPS = [0, 1, 2, 3, 4].flatMap((power) =>
  [1, 2, 5, 10, 20, 50, 100, 200, 500].map((step) => step * 1024 ** power),
)

export const OPEN_CHART: ChartSpec = {
  format: formatCount,
  series: [{ label: 'open streams', color: '--c1', value: (f) => f.connections, fill: true }],
}

export const CHURN_CHART: ChartSpec = {
  format: formatCount,
  series: [
    { label: 'connects/s', color: '--c2', value: (f) => f.rates.connects },
    { label: 'disconnects/s', color: '--c3', value: (f) => f.rates.disconnects },
  ],
}

export const EVENTS_CHART: ChartSpec = {
  format: formatCount,
  series: [
    { label: 'published/s', color: '--c1', value: (f) => f.rates.published },
    { label: 'delivered/s', color: '--c2', value: (f) => f.rates.delivered, fill: true },
  ],
}

export const BYTES_CHART: ChartSpec = {
  // Ticks fall on whole binary units: "50 KiB", not "50.0 KiB".
  format: (v) => formatBytes(v).replace('.0 ', ' ').replace(' ', '\u2009'),
  steps: BINARY_STEPS,
  series: [{ label: 'sent/s', color: '--c3', value: (f) => f.rates.bytes, fill: true }],
}

/** `#rrggbb` with alpha, for canvas fills (the stylesheet's colours are hex). */
function withAlpha(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color)
  if (hex === null) return color
  const [r, g, b] = hex.slice(1).map((h) => Number.parseInt(h, 16))
  return `rgba(${r}, ${g}, ${b}, ${alpha})`
}

const MINUTE_FORMAT = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' })
const SECOND_FORMAT = new Intl.DateTimeFormat(undefined, {
  hour: 'numeric',
  minute: '2-digit',
  second: '2-digit',
})

/** A tick's time (seconds since the epoch): with seconds only when the ticks are less than a minute apart. */
function clockTime(seconds: number, step: number): string {
  return (step < 60 ? SECOND_FORMAT : MINUTE_FORMAT).format(seconds * 1000)
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
    const format = this.#spec.format
    this.#plot = new uPlot(
      {
        ...this.#size(),
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: { time: true },
          // From 0 (a rate or a count has no other floor), with a little headroom over the highest
          // point so the top label is above the line, never cut by the panel.
          y: { range: (_u, _min, max) => [0, max > 0 ? max * HEADROOM : 1] },
        },
        axes: [
          {
            stroke: muted,
            grid: { stroke: grid, width: 1 },
            ticks: { stroke: grid, width: 1 },
            space: X_LABEL_SPACE,
            size: X_AXIS_HEIGHT,
            // One line of local time per tick. (uPlot's default adds a date line under the first
            // tick, centred on it, which runs off the left edge of a narrow chart.)
            values: (_u, splits, _axis, _space, step) => splits.map((s) => clockTime(s, step)),
          },
          {
            scale: 'y',
            stroke: muted,
            grid: { stroke: grid, width: 1 },
            ticks: { stroke: grid, width: 1 },
            space: Y_LABEL_SPACE,
            ...(this.#spec.steps === undefined ? {} : { incrs: this.#spec.steps }),
            values: (_u, values) => values.map(format),
            // As wide as the longest label needs, so a label never runs into the plot or off the panel.
            size: (_u, values) =>
              values === null || values.length === 0
                ? 40
                : Math.ceil(Math.max(...values.map((v) => String(v).length)) * AXIS_CHAR_PX) + 18,
          },
        ],
        series: [
          {},
          ...this.#spec.series.map((series): uPlot.Series => {
            const color = cssVar(series.color)
            return {
              label: series.label,
              scale: 'y',
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
