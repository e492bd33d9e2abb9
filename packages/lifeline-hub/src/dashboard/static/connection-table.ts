/**
 * The connection table: one page of rows asked from the hub (`/dashboard/api/connections`), sorted
 * and filtered there. Rows are drawn with textContent only: addresses, user agents and topics come
 * from clients and must never become markup.
 */
import type { ConnectionPage, ConnectionRow, ConnectionSortKey } from '../stats-frame.ts'
import { STATS_TOPIC } from '../stats-frame.ts'
import { getJson } from './api.ts'
import { formatBytes, formatCount, formatDuration } from './format.ts'

export const PAGE_SIZE = 50
const COLUMNS = 10

export interface TableElements {
  table: HTMLTableElement
  total: HTMLElement
  pageInfo: HTMLElement
  prev: HTMLButtonElement
  next: HTMLButtonElement
  filter: HTMLInputElement
  clear: HTMLButtonElement
}

export class ConnectionTable {
  readonly #el: TableElements
  readonly #body: HTMLTableSectionElement
  readonly #token: () => string
  readonly #onError: (error: unknown) => void
  #sort: ConnectionSortKey = 'age'
  #order: 'asc' | 'desc' = 'asc'
  #offset = 0
  #topic = ''
  #inFlight = false
  #again = false
  #lastTotal = 0

  constructor(el: TableElements, token: () => string, onError: (error: unknown) => void) {
    this.#el = el
    this.#body = el.table.tBodies[0] ?? el.table.createTBody()
    this.#token = token
    this.#onError = onError
    for (const th of el.table.querySelectorAll<HTMLTableCellElement>('th[data-sort]')) {
      const sort = (): void => this.#sortBy(th.dataset['sort'] as ConnectionSortKey)
      // Reachable by keyboard too: Tab to a header, Enter or Space sorts.
      th.tabIndex = 0
      th.addEventListener('click', sort)
      th.addEventListener('keydown', (event) => {
        if (event.key !== 'Enter' && event.key !== ' ') return
        event.preventDefault()
        sort()
      })
    }
    el.prev.addEventListener('click', () => this.#page(-1))
    el.next.addEventListener('click', () => this.#page(1))
    el.filter.addEventListener('change', () => this.filterTopic(el.filter.value.trim()))
    el.clear.addEventListener('click', () => this.filterTopic(''))
    this.#markSort()
  }

  filterTopic(topic: string): void {
    this.#topic = topic
    this.#el.filter.value = topic
    this.#offset = 0
    void this.refresh()
  }

  /** Fetches and draws the current page; calls made while one is in flight coalesce into one more. */
  async refresh(): Promise<void> {
    if (this.#inFlight) {
      this.#again = true
      return
    }
    this.#inFlight = true
    try {
      const params = new URLSearchParams({
        sort: this.#sort,
        order: this.#order,
        offset: String(this.#offset),
        limit: String(PAGE_SIZE),
      })
      if (this.#topic !== '') params.set('topic', this.#topic)
      const page = await getJson<ConnectionPage>(`/dashboard/api/connections?${params}`, this.#token())
      // The page we were on emptied (streams closed): step back to the last page that has rows.
      if (page.rows.length === 0 && page.total > 0 && this.#offset > 0) {
        this.#offset = Math.max(0, Math.floor((page.total - 1) / PAGE_SIZE) * PAGE_SIZE)
        this.#again = true
      }
      this.#draw(page)
    } catch (error) {
      this.#onError(error)
    } finally {
      this.#inFlight = false
      if (this.#again) {
        this.#again = false
        void this.refresh()
      }
    }
  }

  #sortBy(key: ConnectionSortKey): void {
    if (this.#sort === key) this.#order = this.#order === 'asc' ? 'desc' : 'asc'
    else {
      this.#sort = key
      // Text columns read best A-Z; numbers read best largest first; age youngest first.
      this.#order =
        key === 'age' ||
        key === 'id' ||
        key === 'address' ||
        key === 'userAgent' ||
        key === 'topics' ||
        key === 'state'
          ? 'asc'
          : 'desc'
    }
    this.#offset = 0
    this.#markSort()
    void this.refresh()
  }

  #page(step: number): void {
    const next = this.#offset + step * PAGE_SIZE
    if (next < 0 || next >= Math.max(this.#lastTotal, 1)) return
    this.#offset = next
    void this.refresh()
  }

  #markSort(): void {
    for (const th of this.#el.table.querySelectorAll<HTMLTableCellElement>('th[data-sort]')) {
      if (th.dataset['sort'] === this.#sort)
        th.setAttribute('aria-sort', this.#order === 'asc' ? 'ascending' : 'descending')
      else th.removeAttribute('aria-sort')
    }
  }

  #draw(page: ConnectionPage): void {
    this.#lastTotal = page.total
    const el = this.#el
    el.total.textContent = this.#topic === '' ? `${page.total} open` : `${page.total} on ${this.#topic}`
    el.total.dataset['count'] = String(page.total)
    const first = page.total === 0 ? 0 : page.offset + 1
    el.pageInfo.textContent = `${first}–${page.offset + page.rows.length} of ${page.total}`
    el.prev.disabled = page.offset === 0
    el.next.disabled = page.offset + page.rows.length >= page.total
    const body = this.#body
    if (page.rows.length === 0) {
      const tr = document.createElement('tr')
      tr.className = 'empty'
      const td = document.createElement('td')
      td.colSpan = COLUMNS
      td.textContent = this.#topic === '' ? 'No open streams.' : `No open stream on ${this.#topic}.`
      tr.append(td)
      body.replaceChildren(tr)
      return
    }
    // Reuse row elements between refreshes: a page redraws every second.
    while (body.rows.length > page.rows.length || body.rows[0]?.className === 'empty') body.deleteRow(-1)
    page.rows.forEach((row, i) => {
      const tr = body.rows[i] ?? newRow(body)
      fillRow(tr, row, page.serverTime)
    })
  }
}

function newRow(body: HTMLTableSectionElement): HTMLTableRowElement {
  const tr = body.insertRow()
  for (let i = 0; i < COLUMNS; i++) {
    const td = tr.insertCell()
    if (i >= 4 && i <= 8) td.className = 'num'
  }
  return tr
}

function fillRow(tr: HTMLTableRowElement, row: ConnectionRow, now: number): void {
  const cells = tr.cells
  const set = (i: number, text: string, title?: string): void => {
    const td = cells[i] as HTMLTableCellElement
    if (td.textContent !== text) td.textContent = text
    td.title = title ?? text
  }
  tr.dataset['id'] = row.id
  tr.classList.toggle('self', row.topics.includes(STATS_TOPIC))
  set(0, row.id)
  set(1, row.remoteAddress)
  set(2, row.userAgent)
  set(3, row.topics.join(', '))
  set(4, formatDuration(now - row.openedAt), new Date(row.openedAt).toISOString())
  set(5, `${formatDuration(Math.max(0, now - row.lastWriteAt))} ago`, new Date(row.lastWriteAt).toISOString())
  set(6, formatBytes(row.bytesSent), `${row.bytesSent} bytes`)
  set(7, formatCount(row.eventsSent), `${row.eventsSent} events; last id ${row.lastEventId ?? '(none)'}`)
  set(8, formatBytes(row.bufferedBytes), `${row.bufferedBytes} bytes queued`)
  ;(cells[8] as HTMLTableCellElement).classList.toggle('warn', row.bufferedBytes > 0)
  set(9, row.state)
  ;(cells[9] as HTMLTableCellElement).className = `state-${row.state}`
}
