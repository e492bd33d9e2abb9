/**
 * The page's files, built once per process and held in memory (with a gzip copy).
 *
 * Two ways to get them, tried in order:
 * 1. Prebuilt: `static/app.js` and `static/app.css` next to this module (what `npm run build` leaves in
 *    `dist/dashboard/static/` of the lifeline-hub package through the repo's scripts/build-dashboard.ts; an installed package has these).
 * 2. From source: esbuild (a devDependency, present in any clone after `npm install`) bundles
 *    `static/app.ts` and `static/styles.css` in memory, once per process, on the first request for the page.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

export interface Asset {
  readonly body: Buffer
  readonly gzip: Buffer
  readonly contentType: string
  /** Strong ETag of the body. */
  readonly etag: string
}

export interface DashboardAssets {
  readonly html: Asset
  readonly js: Asset
  readonly css: Asset
  /** The URLs the HTML links to (content-hashed, so they can be cached for good). */
  readonly jsPath: string
  readonly cssPath: string
  /** How the assets were obtained: 'prebuilt' or 'esbuild'. */
  readonly source: 'prebuilt' | 'esbuild'
}

export const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url))

function asset(body: Buffer, contentType: string): Asset {
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 16)
  return { body, gzip: gzipSync(body, { level: 9 }), contentType, etag: `"${hash}"` }
}

/** Bundles the page from source with esbuild (minified, ES2022, no source map). */
export async function bundleFromSource(dir: string = STATIC_DIR): Promise<{ js: string; css: string }> {
  if (!existsSync(`${dir}app.ts`)) {
    throw new Error(`the dashboard is not built: ${dir} has neither app.js nor app.ts; run npm run build`)
  }
  // Loaded only here: an installed package serves the prebuilt files and needs no esbuild.
  let build: typeof import('esbuild').build
  try {
    ;({ build } = await import('esbuild'))
  } catch (error) {
    throw new Error(
      'the dashboard is bundled from source with esbuild, which is not installed: run npm install (with dev dependencies) or npm run build',
      { cause: error },
    )
  }
  const bundle = async (entry: string): Promise<string> => {
    const result = await build({
      entryPoints: [`${dir}${entry}`],
      bundle: true,
      write: false,
      minify: true,
      platform: 'browser',
      // The page imports lifeline-sse by package name; in a clone that resolves to its source.
      conditions: ['lifeline-source'],
      target: 'es2022',
      format: 'esm',
      legalComments: 'none',
      logLevel: 'silent',
      outdir: 'out',
    })
    const file = result.outputFiles[0]
    if (file === undefined) throw new Error(`esbuild produced no output for ${entry}`)
    return file.text
  }
  const [js, css] = await Promise.all([bundle('app.ts'), bundle('styles.css')])
  return { js, css }
}

export async function loadAssets(dir: string = STATIC_DIR): Promise<DashboardAssets> {
  const prebuilt = existsSync(`${dir}app.js`) && existsSync(`${dir}app.css`)
  const { js, css } = prebuilt
    ? { js: await readFile(`${dir}app.js`, 'utf8'), css: await readFile(`${dir}app.css`, 'utf8') }
    : await bundleFromSource(dir)
  const jsAsset = asset(Buffer.from(js), 'text/javascript; charset=utf-8')
  const cssAsset = asset(Buffer.from(css), 'text/css; charset=utf-8')
  const jsPath = `/dashboard/app.js?v=${jsAsset.etag.slice(1, -1)}`
  const cssPath = `/dashboard/app.css?v=${cssAsset.etag.slice(1, -1)}`
  const template = await readFile(`${dir}index.html`, 'utf8')
  const html = template.replace('%APP_JS%', jsPath).replace('%APP_CSS%', cssPath)
  return {
    html: asset(Buffer.from(html), 'text/html; charset=utf-8'),
    js: jsAsset,
    css: cssAsset,
    jsPath,
    cssPath,
    source: prebuilt ? 'prebuilt' : 'esbuild',
  }
}
