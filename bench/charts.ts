/**
 * SVG bar charts for the benchmark docs, with no dependency: one panel per metric, one bar per server,
 * the value printed on each bar. `lowerIsBetter` only changes the caption.
 */
export type Panel = {
  title: string
  unit: string
  lowerIsBetter: boolean
  bars: { name: string; value: number | null }[]
}

const PANEL_W = 360
const PANEL_H = 220
const PAD = 12
const LABEL_W = 86
const BAR_H = 22
const HIGHLIGHT = '#2f6fde'
const OTHER = '#9aa5b1'

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function formatValue(v: number): string {
  if (v >= 100) return Math.round(v).toLocaleString('en-US')
  if (v >= 10) return v.toFixed(1)
  return v.toFixed(2)
}

function panel(p: Panel, x: number, y: number, highlight: string): string {
  const max = Math.max(1e-9, ...p.bars.map((b) => b.value ?? 0))
  const plotW = PANEL_W - LABEL_W - PAD * 2 - 60
  const parts = [
    `<g transform="translate(${x},${y})">`,
    `<rect width="${PANEL_W}" height="${PANEL_H}" fill="#fff" stroke="#dde2e8"/>`,
    `<text x="${PAD}" y="${PAD + 12}" font-weight="bold">${escapeXml(p.title)}</text>`,
    `<text x="${PAD}" y="${PAD + 28}" fill="#5b6670" font-size="11">${escapeXml(p.unit)}, ${p.lowerIsBetter ? 'lower' : 'higher'} is better</text>`,
  ]
  p.bars.forEach((b, i) => {
    const by = PAD + 44 + i * (BAR_H + 8)
    const w = b.value === null ? 0 : Math.max(1, (b.value / max) * plotW)
    parts.push(`<text x="${PAD}" y="${by + 15}">${escapeXml(b.name)}</text>`)
    parts.push(
      `<rect x="${PAD + LABEL_W}" y="${by}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${b.name === highlight ? HIGHLIGHT : OTHER}"/>`,
    )
    parts.push(
      `<text x="${PAD + LABEL_W + w + 4}" y="${by + 15}">${b.value === null ? 'n/a' : formatValue(b.value)}</text>`,
    )
  })
  parts.push('</g>')
  return parts.join('')
}

/** Panels in a grid of `columns`; `highlight` names the bar drawn in colour (ours). */
export function barChartSvg(title: string, panels: Panel[], highlight = 'lifeline', columns = 2): string {
  const rows = Math.ceil(panels.length / columns)
  const width = columns * PANEL_W + (columns + 1) * PAD
  const height = rows * PANEL_H + (rows + 1) * PAD + 28
  const body = panels
    .map((p, i) =>
      panel(
        p,
        PAD + (i % columns) * (PANEL_W + PAD),
        28 + PAD + Math.floor(i / columns) * (PANEL_H + PAD),
        highlight,
      ),
    )
    .join('\n')
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#f6f8fa"/>`,
    `<text x="${PAD}" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    body,
    '</svg>',
    '',
  ].join('\n')
}
