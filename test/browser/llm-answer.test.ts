/**
 * examples/llm-answer in real Chromium: an answer streamed token by token into a finite stream and
 * read by the page's native EventSource survives a reload mid-answer (the text ends exactly as the
 * producer wrote it: nothing lost, nothing twice), a second tab joins from the start, the closed
 * stream's reader stops for good (204 on its reconnect), and the stop button ends the answer early.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { ANSWER, type Example, startExample } from '../../examples/llm-answer/server.ts'
import { launchChromium } from '../helpers/chromium.ts'

/** Generous: Chromium on a loaded 2-core machine. */
const WAIT_MS = 45_000

let example: Example
let browser: Browser

before(async () => {
  example = await startExample({ hubPort: 0, appPort: 0, tokenMs: 60 })
  browser = await launchChromium()
})

after(async () => {
  await browser?.close()
  await example?.close()
})

async function answerText(page: Page): Promise<string> {
  return (await page.textContent('#answer')) ?? ''
}

async function waitDone(page: Page): Promise<void> {
  await page.waitForFunction(
    () => (window as unknown as { answerDone?: boolean }).answerDone === true,
    null,
    {
      timeout: WAIT_MS,
    },
  )
}

test('a reload mid-answer shows the whole answer once; a second tab too; the reader then stops', async () => {
  const page = await browser.newPage()
  await page.goto(`${example.appUrl}/`)
  await page.click('#ask')
  await page.waitForFunction(
    () => (document.querySelector('#answer')?.textContent ?? '').split(' ').length >= 5,
    null,
    {
      timeout: WAIT_MS,
    },
  )
  const before = await answerText(page)
  assert.ok(before.length < ANSWER.length, 'the reload happens mid-answer')
  await page.reload()
  await waitDone(page)
  assert.equal(await answerText(page), ANSWER)
  // The hub ended the response after lifeline:end; the browser's reconnect got 204: CLOSED for good.
  await page.waitForFunction(
    () => (window as unknown as { lifelineSource?: EventSource }).lifelineSource?.readyState === 2,
    null,
    { timeout: WAIT_MS },
  )
  const second = await browser.newPage()
  await second.goto(page.url())
  await waitDone(second)
  assert.equal(await answerText(second), ANSWER)
  await page.close()
  await second.close()
})

test('the stop button asks the producer to stop; the answer ends early for every reader', async () => {
  const page = await browser.newPage()
  await page.goto(`${example.appUrl}/`)
  await page.click('#ask')
  await page.waitForFunction(
    () => (document.querySelector('#answer')?.textContent ?? '').split(' ').length >= 3,
    null,
    {
      timeout: WAIT_MS,
    },
  )
  await page.click('#stop')
  await waitDone(page)
  const text = await answerText(page)
  assert.ok(text.length < ANSWER.length, `stopped early: ${text.length} of ${ANSWER.length} characters`)
  assert.ok(ANSWER.startsWith(text), 'what was streamed is the start of the answer, in order')
  await page.close()
})

test('the same page through @durable-streams/client survives a reload and ends at the close', async () => {
  const page = await browser.newPage()
  await page.goto(`${example.appUrl}/durable`)
  await page.click('#ask')
  await page.waitForFunction(
    () => (document.querySelector('#answer')?.textContent ?? '').split(' ').length >= 5,
    null,
    {
      timeout: WAIT_MS,
    },
  )
  assert.ok((await answerText(page)).length < ANSWER.length, 'the reload happens mid-answer')
  await page.reload()
  await waitDone(page)
  assert.equal(await answerText(page), ANSWER)
  await page.close()
})
