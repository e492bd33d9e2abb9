/**
 * Real Chromium for browser tests: Debian's `chromium` driven by playwright-core, and esbuild to bundle
 * a TypeScript entry for a page. Shared by the client and dashboard tests.
 *
 *   const browser = await launchChromium()
 *   t.after(() => browser.close())
 *   const js = await bundleForBrowser('packages/lifeline-sse/src/client/index.ts', { globalName: 'Lifeline' })
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { build } from 'esbuild'
import { type Browser, chromium } from 'playwright-core'

export const CHROMIUM_PATH = '/usr/bin/chromium'

/** Flags that keep a headless Chromium quiet and self-contained on a shared CI machine. */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/**
 * Start Chromium with a fresh temporary profile. playwright-core refuses a `--user-data-dir` argument
 * on `launch()`: it creates a new temporary `--user-data-dir` itself for every launch and deletes it on
 * `close()`, which is the fresh profile we want. Throws, never skips, when Chromium is not installed.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: apt-get install -y chromium`)
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_FLAGS],
    timeout: 60_000,
  })
}

export interface BundleOptions {
  /** Expose the entry's exports as `globalThis[globalName]` (IIFE). Omitted: an ES module. */
  globalName?: string
  /** Minify the output. @default false */
  minify?: boolean
}

/**
 * Bundle a TypeScript entry (path relative to the repository root, or absolute) for the browser, in
 * memory (`write: false`). Returns the JavaScript text, ready to serve on a local page.
 */
export async function bundleForBrowser(entry: string, options: BundleOptions = {}): Promise<string> {
  const result = await build({
    entryPoints: [resolve(entry)],
    bundle: true,
    write: false,
    platform: 'browser',
    target: 'es2022',
    format: options.globalName === undefined ? 'esm' : 'iife',
    globalName: options.globalName,
    minify: options.minify ?? false,
    logLevel: 'silent',
  })
  const file = result.outputFiles[0]
  if (file === undefined) throw new Error(`esbuild produced no output for ${entry}`)
  return file.text
}
