/**
 * The dashboard page. It reads its hub's stats over SSE with Lifeline's own client (the stream shows
 * up in the connection table like any other), fetches one page of the table per frame, and draws.
 *
 * Start-up: GET /dashboard/api/stats (tells whether an admin token is needed, and backfills the
 * charts), then the stats stream. A 401/403 anywhere shows the token prompt.
 */
// Lifeline's own client (`lifeline-sse/client`), bundled into the page.
import { type ClientErrorEvent, EventSource, type StateChangeEvent } from 'lifeline-sse/client'
import type { CloseReason, RejectReason } from 'lifeline-sse/server'
import { STATS_EVENT, type StatsFrame } from '../stats-frame.ts'
import { authHeaders, getJson, loadToken, RequestError, saveToken } from './api.ts'
import { BYTES_CHART, CHURN_CHART, EVENTS_CHART, OPEN_CHART, TimeChart } from './charts.ts'
import { ConnectionTable } from './connection-table.ts'
import { formatBytes, formatCount, formatDuration, formatMs } from './format.ts'
import { TryIt } from './try-it.ts'

const STATS_STREAM_PATH = '/dashboard/stats'

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id)
  if (element === null) throw new Error(`dashboard: #${id} is missing from the page`)
  return element as T
}

function text(id: string, value: string): void {
  const element = byId(id)
  if (element.textContent !== value) element.textContent = value
}

let token = loadToken()
const tokenInput = byId<HTMLInputElement>('token')
tokenInput.value = token
const notice = byId('notice')
const status = byId('status')

function showNotice(message: string | undefined): void {
  notice.hidden = message === undefined
  notice.textContent = message ?? ''
}

function showStatus(state: string, label = state): void {
  status.dataset['state'] = state
  status.textContent = label
}

/** 401/403 mean "give me an admin token": say so next to the field. Anything else: show it. */
function reportError(error: unknown): void {
  if (error instanceof RequestError && (error.status === 401 || error.status === 403)) {
    showStatus('error', error.status === 401 ? 'token needed' : 'not an admin')
    showNotice(
      error.status === 401
        ? `This hub has auth on: paste a token with the admin claim ({"lifeline": {"admin": true}}) in the Token field. (${error.message})`
        : `This token is not an admin token: the dashboard needs {"lifeline": {"admin": true}}. (${error.message})`,
    )
    tokenInput.focus()
    return
  }
  showNotice(error instanceof Error ? error.message : String(error))
}

const charts = [
  new TimeChart(byId('chart-open'), OPEN_CHART),
  new TimeChart(byId('chart-churn'), CHURN_CHART),
  new TimeChart(byId('chart-events'), EVENTS_CHART),
  new TimeChart(byId('chart-bytes'), BYTES_CHART),
]
const table = new ConnectionTable(
  {
    table: byId('connections'),
    total: byId('conn-total'),
    pageInfo: byId('page-info'),
    prev: byId('prev'),
    next: byId('next'),
    filter: byId('topic-filter'),
    clear: byId('clear-filter'),
  },
  () => token,
  reportError,
)
new TryIt(
  {
    subscribeForm: byId('try-sub'),
    topic: byId('try-topic'),
    subscribeButton: byId('try-subscribe'),
    state: byId('try-state'),
    publishForm: byId('try-pub'),
    event: byId('try-event'),
    data: byId('try-data'),
    result: byId('try-result'),
    log: byId('try-log'),
  },
  () => token,
)

function sum(record: Readonly<Record<string, number>>): number {
  let total = 0
  for (const value of Object.values(record)) total += value
  return total
}

function renderCards(f: StatsFrame): void {
  const t = f.totals
  const s = byId('s-connections')
  s.dataset['count'] = String(f.connections)
  text('s-connections', formatCount(f.connections))
  text('s-states', `${f.states.replaying} replaying · ${f.states.closing} closing · ${f.watchers} watching`)
  text('s-connects', formatCount(f.rates.connects))
  text('s-opened', `${formatCount(t.opened)} opened`)
  text('s-disconnects', formatCount(f.rates.disconnects))
  text('s-closed', `${formatCount(sum(t.closed))} closed`)
  text('s-published', formatCount(f.rates.published))
  text('s-published-total', `${formatCount(t.published)} total`)
  text('s-delivered', formatCount(f.rates.delivered))
  text('s-delivered-total', `${formatCount(t.delivered)} total`)
  text('s-bytes', formatBytes(f.rates.bytes))
  text('s-bytes-total', `${formatBytes(t.bytesSent)} total · ${formatCount(f.rates.heartbeats)} pings/s`)
  text('s-replayed', formatCount(t.replayed))
  text('s-replayed-rate', `${formatCount(f.rates.replayed)} / s`)
  text('s-resets', formatCount(t.resets))
  const rejected = t.rejected as Record<RejectReason, number>
  text('s-rejected', `${formatCount(sum(rejected))} rejected (${formatCount(f.rates.rejects)}/s)`)
  text('s-lag', formatMs(f.eventLoop.p99Ms))
  text('s-lag-max', `p50 ${formatMs(f.eventLoop.p50Ms)} · max ${formatMs(f.eventLoop.maxMs)}`)
  text('s-heap', formatBytes(f.memory.heapUsedBytes))
  text('s-rss', `of ${formatBytes(f.memory.heapTotalBytes)} · rss ${formatBytes(f.memory.rssBytes)}`)
  text('s-buffered', formatBytes(f.bufferedBytes))
  text('s-buffering', `${formatCount(f.bufferingStreams)} streams with a queue`)
  text('s-history', formatCount(t.historyEvents))
  text('uptime', `up ${formatDuration(f.uptimeSeconds * 1000)}`)
  document.title = `${formatCount(f.connections)} streams · Lifeline hub`
}

function renderCloses(f: StatsFrame): void {
  const body = byId<HTMLTableElement>('closes').tBodies[0] as HTMLTableSectionElement
  // The hub sends a count for every close reason, in the library's order (CLOSE_REASONS): the page
  // follows the frame, so it never bundles server code to learn the list.
  ;(Object.keys(f.totals.closed) as CloseReason[]).forEach((reason, i) => {
    const tr = body.rows[i] ?? body.insertRow()
    if (tr.cells.length === 0) {
      tr.insertCell().textContent = reason
      tr.insertCell().className = 'num'
      tr.insertCell().className = 'num'
    }
    ;(tr.cells[1] as HTMLTableCellElement).textContent = formatCount(f.totals.closed[reason] ?? 0)
    ;(tr.cells[2] as HTMLTableCellElement).textContent = formatCount(f.closesPerSecond[reason] ?? 0)
  })
}

/** A topic row; built once and reused, so keyboard focus survives the per-second redraw. */
function topicRow(body: HTMLTableSectionElement): HTMLTableRowElement {
  const tr = body.insertRow()
  tr.tabIndex = 0
  const filter = (): void => table.filterTopic(tr.dataset['topic'] ?? '')
  tr.addEventListener('click', filter)
  tr.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') filter()
  })
  tr.insertCell()
  const count = tr.insertCell()
  count.className = 'num bar-cell'
  const fill = document.createElement('div')
  fill.className = 'fill'
  count.append(fill, document.createElement('span'))
  return tr
}

function renderTopics(f: StatsFrame): void {
  const body = byId<HTMLTableElement>('topics').tBodies[0] as HTMLTableSectionElement
  const largest = f.topics[0]?.subscribers ?? 1
  while (body.rows.length > f.topics.length) body.deleteRow(-1)
  f.topics.forEach(({ topic, subscribers }, i) => {
    const tr = body.rows[i] ?? topicRow(body)
    tr.dataset['topic'] = topic
    tr.title = `Show the streams on ${topic}`
    ;(tr.cells[0] as HTMLTableCellElement).textContent = topic
    const count = tr.cells[1] as HTMLTableCellElement
    ;(count.firstElementChild as HTMLElement).style.width = `${Math.round((subscribers / largest) * 100)}%`
    ;(count.lastElementChild as HTMLElement).textContent = formatCount(subscribers)
  })
  text(
    'topic-count',
    f.topicCount > f.topics.length ? `top ${f.topics.length} of ${f.topicCount}` : String(f.topicCount),
  )
  const options = byId('topic-options')
  options.replaceChildren(
    ...f.topics.map(({ topic }) => {
      const option = document.createElement('option')
      option.value = topic
      return option
    }),
  )
}

function render(frame: StatsFrame): void {
  renderCards(frame)
  renderCloses(frame)
  renderTopics(frame)
  for (const chart of charts) {
    chart.push(frame)
    chart.draw()
  }
  if (!document.hidden) void table.refresh()
}

let source: EventSource | undefined
/** Bumped by every start(): an older start() that resumes after an await gives up. */
let generation = 0

/** (Re)starts the page's data: one snapshot for the charts' backfill, then the stream. */
async function start(): Promise<void> {
  const mine = ++generation
  source?.close()
  source = undefined
  showStatus('connecting')
  let snapshot: { recent: StatsFrame[]; now: StatsFrame }
  try {
    snapshot = await getJson('/dashboard/api/stats', token)
  } catch (error) {
    if (mine === generation) reportError(error)
    return
  }
  if (mine !== generation) return
  showNotice(undefined)
  for (const chart of charts) {
    chart.clear()
    for (const frame of snapshot.recent) chart.push(frame)
  }
  render(snapshot.now)

  const stream = new EventSource(STATS_STREAM_PATH, { headers: authHeaders(token) })
  source = stream
  stream.addEventListener('statechange', (event) => showStatus((event as StateChangeEvent).state))
  stream.addEventListener('error', (event) => {
    const error = event as ClientErrorEvent
    if (!error.willRetry && error.status !== undefined) {
      reportError(new RequestError(error.status, `http_${error.status}`, error.message))
    }
  })
  stream.addEventListener(STATS_EVENT, (event) => {
    let frame: StatsFrame
    try {
      frame = JSON.parse((event as MessageEvent<string>).data) as StatsFrame
    } catch {
      return // not a frame (something published to the reserved topic): ignore it
    }
    if (typeof frame?.time === 'number' && typeof frame.rates === 'object' && Array.isArray(frame.topics))
      render(frame)
  })
}

byId<HTMLFormElement>('token-form').addEventListener('submit', (event) => {
  event.preventDefault()
  token = tokenInput.value.trim()
  saveToken(token)
  void start()
})

void start()
