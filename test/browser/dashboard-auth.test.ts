/**
 * The dashboard in Chromium when the hub has auth on: the page asks for a token, refuses a token
 * without the admin claim, runs with an admin token, and the try-it panel gets the hub's own answers
 * (403 without a publish grant, 201 with one).
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type JWTPayload, SignJWT } from 'jose'
import type { Browser } from 'playwright-core'
import { type App, createApp } from '../../packages/lifeline-hub/src/app/app.ts'
import { launchChromium } from '../helpers/chromium.ts'

const WAIT_MS = 20_000
const SECRET = 'dashboard-auth-test-secret-at-least-32-bytes'

function token(claim: Record<string, unknown>): Promise<string> {
  return new SignJWT({ lifeline: claim } as JWTPayload)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(SECRET))
}

let app: App
let base: string
let browser: Browser

before(async () => {
  app = await createApp({ port: 0, host: '127.0.0.1', logLevel: 'silent', jwtSecret: SECRET })
  base = await app.listen()
  browser = await launchChromium()
})

after(async () => {
  await browser?.close()
  await app?.close()
})

test('with auth on, the page needs an admin token and the try-it panel respects the grants', async () => {
  const page = await browser.newPage()
  const problems: string[] = []
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))
  page.on('console', (message) => {
    // The refused requests (401/403) are logged by Chromium itself; anything else is a fault.
    if (message.type() === 'error' && !/status of 40[13]/.test(message.text())) problems.push(message.text())
  })
  await page.goto(`${base}/`)
  await page.locator('#status[data-state="error"]', { hasText: 'token needed' }).waitFor({ timeout: WAIT_MS })
  assert.match((await page.locator('#notice').textContent()) ?? '', /admin/)
  assert.equal(await page.locator('#connections tbody tr').count(), 0, 'no data without a token')

  await page.locator('#token').fill(await token({ subscribe: ['*'], publish: ['*'] }))
  await page.locator('#token-form button').click()
  await page.locator('#status', { hasText: 'not an admin' }).waitFor({ timeout: WAIT_MS })

  // Admin, allowed to subscribe to `demo` but not to publish.
  await page.locator('#token').fill(await token({ admin: true, subscribe: ['demo'] }))
  await page.locator('#token-form button').click()
  await page.locator('#status[data-state="open"]').waitFor({ timeout: WAIT_MS })
  assert.equal(await page.locator('#notice').isHidden(), true)
  await page.locator('#connections tbody tr.self').waitFor({ timeout: WAIT_MS })
  await page.locator('#try-publish').click()
  await page.locator('#try-result', { hasText: '403' }).waitFor({ timeout: WAIT_MS })

  // Admin with a publish grant: the panel's own subscription (token sent as a header) gets the event.
  await page.locator('#token').fill(await token({ admin: true, subscribe: ['demo'], publish: ['demo'] }))
  await page.locator('#token-form button').click()
  await page.locator('#status[data-state="open"]').waitFor({ timeout: WAIT_MS })
  await page.locator('#try-subscribe').click()
  await page.locator('#try-state[data-state="open"]').waitFor({ timeout: WAIT_MS })
  await page.locator('#try-data').fill('with a token')
  await page.locator('#try-publish').click()
  await page.locator('#try-result', { hasText: 'published #' }).waitFor({ timeout: WAIT_MS })
  await page.locator('#try-log li', { hasText: 'with a token' }).waitFor({ timeout: WAIT_MS })
  assert.deepEqual(problems, [])
  await page.close()
})
