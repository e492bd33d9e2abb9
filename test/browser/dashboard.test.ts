/**
 * The dashboard in real Chromium (Debian's, driven by playwright-core) against a real hub on an
 * ephemeral loopback port: the page loads cleanly, follows streams opening and closing within 3 s,
 * and its "try it" panel publishes to a real subscriber; at 1440 and 390 px wide nothing scrolls the
 * page sideways. Screenshots go to test-results/ (docs/img/ holds copies of the 1440 and 390 px ones).
 */
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { after, before, describe, test } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { type App, createApp } from '../../packages/lifeline-hub/src/app/app.ts'
import { launchChromium } from '../helpers/chromium.ts'
import { openRaw, type RawStream } from '../server/sse-client.ts'

const RESULTS = 'test-results'
const STREAMS = 20
/** The bound: the table and counters follow within 3 s. */
const FOLLOW_MS = 3_000
const LOAD_MS = 30_000

/** Console errors and uncaught page errors, collected for the whole page life. */
function watchErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`)
  })
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`))
  return errors
}

async function countOf(page: Page, selector: string): Promise<number> {
  return Number(await page.locator(selector).getAttribute('data-count'))
}

describe('dashboard', () => {
  let app: App
  let base: string
  let browser: Browser
  let page: Page
  let errors: string[]
  const streams: RawStream[] = []

  before(async () => {
    await mkdir(RESULTS, { recursive: true })
    app = await createApp({ port: 0, host: '127.0.0.1', logLevel: 'silent' })
    base = await app.listen()
    browser = await launchChromium()
    page = await browser.newPage({ viewport: { width: 1440, height: 1100 } })
    errors = watchErrors(page)
  })

  after(async () => {
    for (const s of streams) s.close()
    await browser?.close()
    await app?.close()
  })

  test('the page loads from the hub with no console errors and its own stream shows in the table', async () => {
    const response = await page.goto(`${base}/`, { timeout: LOAD_MS })
    assert.equal(response?.status(), 200)
    // The page's stats stream (Lifeline's client) is open, and it is one of the hub's streams.
    await page.locator('#status[data-state="open"]').waitFor({ timeout: LOAD_MS })
    await page.waitForFunction(
      () => document.querySelector('#s-connections')?.getAttribute('data-count') === '1',
      null,
      {
        timeout: LOAD_MS,
      },
    )
    await page.locator('#connections tbody tr.self').waitFor({ timeout: LOAD_MS })
    assert.equal(
      await page.locator('#connections tbody tr.self td').nth(3).textContent(),
      'lifeline:dashboard',
    )
    assert.deepEqual(errors, [])
  })

  test(`opening ${STREAMS} streams shows ${STREAMS} in the counters, topic list and table within 3 s`, async (t) => {
    const baseline = await countOf(page, '#s-connections')
    for (let i = 0; i < STREAMS; i++) streams.push(await openRaw(`${base}/events?topic=load-test`))
    for (const s of streams) assert.equal(s.status, 200)
    const opened = performance.now()
    // The bound is on what the page shows: the counter and the (unfiltered) table total.
    await page.waitForFunction(
      (want) =>
        document.querySelector('#s-connections')?.getAttribute('data-count') === String(want) &&
        document.querySelector('#conn-total')?.getAttribute('data-count') === String(want),
      baseline + STREAMS,
      { timeout: FOLLOW_MS },
    )
    const elapsed = performance.now() - opened
    t.diagnostic(`the counter and the table showed the streams ${Math.round(elapsed)} ms after they opened`)
    assert.ok(elapsed < FOLLOW_MS, `the dashboard showed the streams after ${Math.round(elapsed)} ms`)
    const topicRow = page.locator('#topics tr[data-topic="load-test"]')
    await topicRow.waitFor({ timeout: FOLLOW_MS })
    assert.equal(await topicRow.locator('td').nth(1).textContent(), String(STREAMS))
    // Filter the table by the topic (a click in the topic list): 20 rows, all on load-test.
    await topicRow.click()
    await page.waitForFunction(
      (want) => document.querySelector('#conn-total')?.getAttribute('data-count') === String(want),
      STREAMS,
      { timeout: LOAD_MS },
    )
    assert.equal(await page.locator('#connections tbody tr').count(), STREAMS)
    const topics = await page.locator('#connections tbody tr td:nth-child(4)').allTextContents()
    assert.deepEqual(new Set(topics), new Set(['load-test']))
    await page.screenshot({ path: `${RESULTS}/dashboard-20-streams.png`, fullPage: true })
  })

  test('sorting by bytes asks the hub for a sorted page', async () => {
    const sorted = page.waitForResponse(
      (r) => r.url().includes('/dashboard/api/connections') && r.url().includes('sort=bytes'),
      { timeout: LOAD_MS },
    )
    await page.locator('#connections th[data-sort="bytes"]').click()
    await page
      .locator('#connections th[data-sort="bytes"][aria-sort="descending"]')
      .waitFor({ timeout: LOAD_MS })
    const response = await sorted
    const body = (await response.json()) as { rows: Array<{ bytesSent: number }> }
    const bytes = body.rows.map((r) => r.bytesSent)
    assert.ok(bytes.length > 1)
    assert.deepEqual(
      bytes,
      [...bytes].sort((a, b) => b - a),
    )
  })

  test(`closing the ${STREAMS} streams brings the counters and the table back within 3 s`, async () => {
    const total = await countOf(page, '#s-connections')
    for (const s of streams.splice(0)) s.close()
    const closed = performance.now()
    await page.waitForFunction(
      (want) => document.querySelector('#s-connections')?.getAttribute('data-count') === String(want),
      total - STREAMS,
      { timeout: FOLLOW_MS },
    )
    await page.waitForFunction(
      () => document.querySelector('#conn-total')?.getAttribute('data-count') === '0',
      null,
      {
        timeout: FOLLOW_MS,
      },
    )
    assert.ok(performance.now() - closed < FOLLOW_MS)
    await page.locator('#topics tr[data-topic="load-test"]').waitFor({ state: 'detached', timeout: LOAD_MS })
    // Closes by reason: the 20 client disconnects are counted.
    const closes = await page
      .locator('#closes tbody tr', { hasText: 'client_closed' })
      .locator('td')
      .nth(1)
      .textContent()
    assert.ok(Number(closes) >= STREAMS, `client_closed shows ${closes}`)
    await page.locator('#clear-filter').click()
  })

  test('a publish from the try-it panel arrives in a subscriber stream', async () => {
    const topic = 'try-it'
    const subscriber = await openRaw(`${base}/events?topic=${topic}`)
    streams.push(subscriber)
    const data = `hello ${Math.random().toString(36).slice(2)}`
    await page.locator('#try-topic').fill(topic)
    // The panel's own subscription (Lifeline's client in the page) receives it too.
    await page.locator('#try-subscribe').click()
    await page.locator('#try-state[data-state="open"]').waitFor({ timeout: LOAD_MS })
    await page.locator('#try-data').fill(data)
    await page.locator('#try-publish').click()
    await subscriber.waitFor(
      'the published event',
      () => subscriber.events.some((e) => e.data === data),
      LOAD_MS,
    )
    const received = subscriber.events.find((e) => e.data === data)
    assert.equal(received?.type, 'message')
    assert.match(received?.id ?? '', /.+/)
    await page.locator('#try-result', { hasText: `published #${received?.id}` }).waitFor({ timeout: LOAD_MS })
    await page.locator('#try-log li', { hasText: data }).waitFor({ timeout: LOAD_MS })
    assert.deepEqual(errors, [])
  })

  test('the page keeps running without console errors and a screenshot is written', async () => {
    // Traffic for the charts over a few frames: streams from several kinds of clients opening and
    // closing, and publishes at a changing rate.
    const agents = [
      'curl/8.11.1',
      'lifeline-tail/0.1.0 (node 24)',
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/17.6 Safari/605.1.15',
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36',
      'okhttp/4.12.0',
    ]
    const topics = [['orders/eu', 'news'], ['orders/us'], ['news'], ['prices/btc'], ['chat/lobby', 'news']]
    let published = 0
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 4; i++) {
        const n = round * 4 + i
        const query = (topics[n % topics.length] ?? []).map((t) => `topic=${t}`).join('&')
        streams.push(
          await openRaw(`${base}/events?${query}`, {
            headers: { 'User-Agent': agents[n % agents.length] ?? '' },
          }),
        )
      }
      if (round % 2 === 1) streams.shift()?.close()
      const burst = 10 + ((round * 13) % 30)
      for (let i = 0; i < burst; i++) {
        await app.hub.publish([['news', 'orders/eu', 'prices/btc'][i % 3] ?? 'news'], {
          data: JSON.stringify({ round, i }),
        })
      }
      published += burst
      await page.waitForFunction(
        (n) => Number(document.querySelector('#s-published-total')?.textContent?.split(' ')[0]) >= n,
        published,
        { timeout: LOAD_MS },
      )
    }
    await page.locator('#try-log li').first().waitFor({ timeout: LOAD_MS })
    await page.screenshot({ path: `${RESULTS}/dashboard.png`, fullPage: true })
    // Dark mode: the stylesheet switches and the charts rebuild with the dark palette.
    await page.emulateMedia({ colorScheme: 'dark' })
    await page.waitForFunction(
      () => getComputedStyle(document.body).backgroundColor === 'rgb(15, 18, 24)',
      null,
      {
        timeout: LOAD_MS,
      },
    )
    await page.screenshot({ path: `${RESULTS}/dashboard-dark.png`, fullPage: true })
    assert.deepEqual(errors, [])
  })

  for (const width of [1440, 390]) {
    test(`at ${width} px wide the page does not scroll sideways, cards are not cut, each chart has one y axis`, async (t) => {
      // A phone's screen has 2 device pixels per CSS pixel (and the screenshot stays readable).
      const narrow = await browser.newPage({
        viewport: { width, height: 900 },
        deviceScaleFactor: width < 800 ? 2 : 1,
      })
      t.after(() => narrow.close())
      const pageErrors = watchErrors(narrow)
      await narrow.goto(`${base}/`, { timeout: LOAD_MS })
      await narrow.locator('#status[data-state="open"]').waitFor({ timeout: LOAD_MS })
      await narrow.locator('#connections tbody tr:not(.empty)').first().waitFor({ timeout: LOAD_MS })
      const layout = await narrow.evaluate(() => ({
        scrollWidth: document.scrollingElement?.scrollWidth ?? Number.POSITIVE_INFINITY,
        innerWidth,
        // A card line that is wider than its box is cut (ellipsis or clipped).
        cut: [...document.querySelectorAll<HTMLElement>('.card .value, .card .sub')]
          .filter((el) => el.scrollWidth > el.clientWidth)
          .map((el) => `${el.id}: ${el.textContent}`),
        // uPlot draws one .u-axis per axis: the time axis and one y axis means every series in a
        // chart is drawn on the same scale (no second, auto-ranged axis to mislead).
        axes: [...document.querySelectorAll<HTMLElement>('.chart')].map(
          (el) => `${el.id}: ${el.querySelectorAll('.u-axis').length}`,
        ),
        // The connection table may scroll inside its wrapper, never past the page.
        tableRight: document.querySelector('.table-wrap')?.getBoundingClientRect().right ?? 0,
      }))
      assert.ok(
        layout.scrollWidth <= layout.innerWidth,
        `the page is ${layout.scrollWidth} px wide in a ${layout.innerWidth} px window`,
      )
      assert.deepEqual(layout.cut, [])
      assert.deepEqual(layout.axes, ['chart-open: 2', 'chart-churn: 2', 'chart-events: 2', 'chart-bytes: 2'])
      assert.ok(layout.tableRight <= width, `the table wrapper ends at ${layout.tableRight} px`)
      await narrow.screenshot({ path: `${RESULTS}/dashboard-${width}.png`, fullPage: true })
      assert.deepEqual(pageErrors, [])
    })
  }
})
