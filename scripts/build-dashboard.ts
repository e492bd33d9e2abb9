/**
 * Prebuilds the dashboard page for a published package: bundles packages/lifeline-hub/src/dashboard/static (the page
 * script with Lifeline's client and uPlot, and the styles) with esbuild and writes
 * `app.js`, `app.css` and `index.html` to packages/lifeline-hub/dist/dashboard/static/, where the built hub looks first.
 * From a clone this step is optional: the hub bundles the same sources in memory on first request.
 *
 *   node scripts/build-dashboard.ts [outDir]      (default packages/lifeline-hub/dist/dashboard/static)
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleFromSource, STATIC_DIR } from '../packages/lifeline-hub/src/dashboard/assets.ts'

export const DEFAULT_OUT_DIR = resolve(
  fileURLToPath(new URL('..', import.meta.url)),
  'packages/lifeline-hub/dist/dashboard/static',
)

/** Writes the three files; returns their sizes in bytes. */
export async function buildDashboard(outDir: string = DEFAULT_OUT_DIR): Promise<{ js: number; css: number }> {
  const { js, css } = await bundleFromSource(STATIC_DIR)
  await mkdir(outDir, { recursive: true })
  await writeFile(join(outDir, 'app.js'), js)
  await writeFile(join(outDir, 'app.css'), css)
  await copyFile(join(STATIC_DIR, 'index.html'), join(outDir, 'index.html'))
  return { js: Buffer.byteLength(js), css: Buffer.byteLength(css) }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] === undefined ? DEFAULT_OUT_DIR : resolve(process.argv[2])
  const sizes = await buildDashboard(outDir)
  console.log(`dashboard: ${outDir} (app.js ${sizes.js} B, app.css ${sizes.css} B)`)
}
