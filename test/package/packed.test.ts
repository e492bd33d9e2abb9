/**
 * The packages as users get them: `npm pack` both workspaces, install the tarballs into new projects
 * in a temporary folder outside the repo (nothing there points into the repo), and there, on Node 24
 * and on the engines floor (Node 22.12 from the registry's `node` package):
 * - a project with only the library has no runtime dependency (optional peers aside);
 * - every export imports; the declarations type-check in a Node-only project (nodenext) and a browser
 *   project (bundler resolution, DOM lib), both with `skipLibCheck: false`;
 * - `lifeline serve`, `publish`, `tail`, a short `bench` and `doctor` work against each other;
 * - every file in examples/ (the README's library quickstart is examples/node-http.ts) publishes,
 *   streams, resumes, answers bad input with a JSON 4xx, and exits by itself on SIGTERM.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { registryNode } from '../helpers/registry-node.ts'

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const ROOT_PKG = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>
}
const FLOOR = '22.12.0'
/** Generous: npm installs from the registry and two tsc builds run while other suites load the machine. */
const INSTALL_MS = 240_000

/** The environment of everything run in the temp projects: none of the repo's source conditions. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  delete env['NODE_OPTIONS']
  for (const key of Object.keys(env)) if (key.startsWith('npm_')) delete env[key]
  return env
}

function sh(cmd: string, args: string[], cwd: string, timeout = INSTALL_MS): string {
  try {
    return execFileSync(cmd, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout, stdio: 'pipe' })
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(
      `${cmd} ${args.join(' ')} failed in ${cwd}: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`,
    )
  }
}

async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

interface Proc {
  child: ChildProcess
  output: () => string
  waitFor: (pattern: RegExp, ms: number) => Promise<void>
  exited: Promise<number | null>
}

function start(node: string, args: string[], cwd: string, env: Record<string, string> = {}): Proc {
  const child = spawn(node, args, { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const waiters = new Set<() => void>()
  const onData = (chunk: Buffer): void => {
    out += chunk.toString('utf8')
    for (const w of waiters) w()
  }
  child.stdout!.on('data', onData)
  child.stderr!.on('data', onData)
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  return {
    child,
    output: () => out,
    exited,
    waitFor: (pattern, ms) =>
      new Promise<void>((resolvePromise, reject) => {
        const check = (): void => {
          if (pattern.test(out)) {
            clearTimeout(timer)
            waiters.delete(check)
            resolvePromise()
          }
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`no ${pattern} within ${ms} ms; output:\n${out}`))
        }, ms)
        waiters.add(check)
        void exited.then(() => setTimeout(check, 0))
        check()
      }),
  }
}

async function stop(proc: Proc, withinMs: number): Promise<number | null> {
  proc.child.kill('SIGTERM')
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), withinMs)
  const code = await proc.exited
  clearTimeout(timer)
  return code
}

/** Reads an SSE stream until `count` events with data arrived (or the deadline). */
async function readEvents(
  url: string,
  count: number,
  ms: number,
  headers: Record<string, string> = {},
): Promise<{ id: string; data: string; event: string }[]> {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), ms)
  const events: { id: string; data: string; event: string }[] = []
  try {
    const res = await fetch(url, { headers, signal: controller.signal })
    assert.equal(res.status, 200, `${url}: ${res.status}`)
    const decoder = new TextDecoder()
    let buffer = ''
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true })
      let end = buffer.indexOf('\n\n')
      while (end !== -1) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const fields = { id: '', data: '', event: 'message' }
        let hasData = false
        for (const line of block.split('\n')) {
          const [name, ...rest] = line.split(':')
          const value = rest.join(':').replace(/^ /, '')
          if (name === 'id') fields.id = value
          if (name === 'event') fields.event = value
          if (name === 'data') {
            fields.data = hasData ? `${fields.data}\n${value}` : value
            hasData = true
          }
        }
        if (hasData) events.push(fields)
        if (events.length >= count) return events
        end = buffer.indexOf('\n\n')
      }
    }
  } catch (error) {
    if ((error as Error).name !== 'AbortError') throw error
  } finally {
    clearTimeout(timer)
    controller.abort()
  }
  return events
}

let dir: string
let packs: { lib: string; hub: string }
let app: string
const runtimes: { name: string; node: string; tsFlags: string[] }[] = [
  { name: '24', node: process.execPath, tsFlags: [] },
]

before(
  async () => {
    dir = mkdtempSync(join(tmpdir(), 'lifeline-packed-'))
    const packDir = join(dir, 'packs')
    mkdirSync(packDir)
    sh(
      'npm',
      ['pack', '-w', 'lifeline-sse', '-w', 'lifeline-hub', '--pack-destination', packDir, '--silent'],
      REPO,
    )
    const tarballs = readdirSync(packDir)
    const find = (name: string): string => {
      const file = tarballs.find((f) => f.startsWith(`${name}-`) && f.endsWith('.tgz'))
      assert.ok(file, `npm pack made no ${name} tarball: ${tarballs.join(', ')}`)
      return join(packDir, file)
    }
    packs = { lib: find('lifeline-sse'), hub: find('lifeline-hub') }

    // The engines floor, from the registry's `node` package (shared with other tests, installed once).
    const floorNode = await registryNode(FLOOR)
    assert.equal(sh(floorNode, ['--version'], dir).trim(), `v${FLOOR}`)
    runtimes.push({ name: FLOOR, node: floorNode, tsFlags: ['--experimental-strip-types', '--no-warnings'] })

    // The user's project: both packages, the frameworks the examples use, TypeScript for the type checks.
    app = join(dir, 'app')
    mkdirSync(app)
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
    const dev = ROOT_PKG.devDependencies
    const fromRepo = ['express', 'fastify', 'hono', '@hono/node-server', 'typescript', '@types/node']
    sh(
      'npm',
      ['install', '--no-audit', '--no-fund', packs.lib, packs.hub, ...fromRepo.map((n) => `${n}@${dev[n]}`)],
      app,
    )
    for (const file of readdirSync(join(REPO, 'examples'))) {
      if (file.endsWith('.ts')) copyFileSync(join(REPO, 'examples', file), join(app, file))
    }
  },
  { timeout: INSTALL_MS * 3 },
)

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

test('a project with only the library installs no runtime dependency (optional peers aside)', () => {
  const lib = join(dir, 'lib-only')
  mkdirSync(lib)
  writeFileSync(
    join(lib, 'package.json'),
    JSON.stringify({ name: 'lib-only', private: true, type: 'module' }),
  )
  sh('npm', ['install', '--no-audit', '--no-fund', packs.lib], lib)
  type Tree = { dependencies?: Record<string, Tree & { missing?: boolean; version?: string }> }
  const tree = JSON.parse(sh('npm', ['ls', '--omit=dev', '--all', '--json'], lib)) as Tree
  assert.deepEqual(Object.keys(tree.dependencies ?? {}), ['lifeline-sse'])
  // npm lists the optional peers (ioredis, net-keepalive) as not installed; nothing else may be there.
  const installed = Object.entries(tree.dependencies!['lifeline-sse']!.dependencies ?? {}).filter(
    ([, d]) => d.version !== undefined && d.missing !== true,
  )
  assert.deepEqual(installed, [])
  assert.deepEqual(
    readdirSync(join(lib, 'node_modules')).filter((n) => !n.startsWith('.')),
    ['lifeline-sse'],
  )
  // Without the optional peer, the Redis history says what to install, as one LifelineError.
  const script = `const { createRedisHistory } = await import('lifeline-sse/redis')
try { await createRedisHistory({ url: 'redis://127.0.0.1:1' }) } catch (e) { console.log(e.code + ' ' + e.message) }`
  assert.match(
    sh(process.execPath, ['--input-type=module', '-e', script], lib),
    /LIFELINE_ERR_REDIS_CLIENT_MISSING .*npm install ioredis/,
  )
})

test('the package ships what its README and source maps cite', () => {
  const pkg = join(app, 'node_modules', 'lifeline-sse')
  for (const file of ['README.md', 'LICENSE', 'docs/design.md', 'docs/errors.md', 'src/server/hub.ts']) {
    assert.ok(
      readdirSync(join(pkg, file, '..')).includes(file.split('/').pop()!),
      `lifeline-sse lacks ${file}`,
    )
  }
  const map = JSON.parse(readFileSync(join(pkg, 'dist/server/hub.js.map'), 'utf8')) as { sources: string[] }
  for (const source of map.sources) {
    assert.ok(readFileSync(resolve(pkg, 'dist/server', source), 'utf8').length > 0, source)
  }
  // Every relative link of the shipped README and docs resolves inside the package.
  const pages = [
    'README.md',
    'CONTRIBUTING.md',
    ...readdirSync(join(pkg, 'docs'), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ]
  for (const page of pages) {
    const text = readFileSync(join(pkg, page), 'utf8')
    for (const [, target] of text.matchAll(/\]\(((?!https?:|#|mailto:)[^)#\s]+)/g)) {
      assert.ok(
        existsSync(resolve(pkg, page, '..', target!)),
        `${page} links ${target}, which the package lacks`,
      )
    }
  }
})

test('the declarations type-check in a Node-only project and in a browser project, skipLibCheck off', () => {
  const tsc = join(app, 'node_modules', 'typescript', 'bin', 'tsc')
  const use = `
import { EventSource, subscribe, type ClientErrorEvent } from 'lifeline-sse/client'
import { EventStreamParser, LifelineError, type LifelineResetData } from 'lifeline-sse/protocol'
const source = new EventSource('http://127.0.0.1:1/events', { headers: { a: 'b' }, heartbeatTimeout: 45_000 })
source.onerror = (event: ClientErrorEvent) => void event.error.code
source.addEventListener('lifeline:reset', (event) => void (JSON.parse(event.data) as LifelineResetData).reason)
new EventStreamParser({ onEvent: (e) => void e.data })
void subscribe
void LifelineError
`
  const server = `
import { createHub, handleNode, handleFetch, handleFastify, MemoryHistory } from 'lifeline-sse/server'
import { createRedisHistory } from 'lifeline-sse/redis'
import { createApp, resolveConfig } from 'lifeline-hub'
const hub = createHub({ history: new MemoryHistory({ maxEvents: 10 }) })
void hub.publish('news', { data: 'x' })
void [handleNode, handleFetch, handleFastify, createRedisHistory, createApp, resolveConfig]
`
  const projects = {
    node: {
      files: { 'client.ts': use, 'server.ts': server },
      options: { module: 'nodenext', moduleResolution: 'nodenext', lib: ['ES2023'], types: ['node'] },
    },
    browser: {
      files: { 'client.ts': use },
      options: {
        module: 'esnext',
        moduleResolution: 'bundler',
        lib: ['ES2023', 'DOM', 'DOM.Iterable'],
        types: [],
      },
    },
  }
  for (const [name, project] of Object.entries(projects)) {
    const folder = join(app, `types-${name}`)
    mkdirSync(folder)
    for (const [file, text] of Object.entries(project.files)) writeFileSync(join(folder, file), text)
    writeFileSync(
      join(folder, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          ...project.options,
          target: 'ES2023',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
        },
        include: ['*.ts'],
      }),
    )
    sh(process.execPath, [tsc, '-p', folder], app)
  }
})

for (const runtime of [0, 1]) {
  describe(`on Node ${runtime === 0 ? '24' : FLOOR}`, () => {
    const rt = () => runtimes[runtime]!

    test('every export imports and has its entry points', () => {
      const script = `
const p = await import('lifeline-sse/protocol'); const s = await import('lifeline-sse/server')
const c = await import('lifeline-sse/client'); const r = await import('lifeline-sse/redis')
const h = await import('lifeline-hub')
const need = { p: ['EventStreamParser', 'encodeEvent', 'LifelineError', 'LIFELINE_ERRORS'], s: ['createHub', 'handleNode', 'handleFetch', 'handleFastify', 'MemoryHistory', 'FileHistory'], c: ['EventSource', 'subscribe', 'localStorageStore'], r: ['createRedisHistory'], h: ['createApp', 'resolveConfig'] }
const mods = { p, s, c, r, h }
const missing = Object.entries(need).flatMap(([k, names]) => names.filter((n) => typeof mods[k][n] !== 'function' && typeof mods[k][n] !== 'object'))
console.log(JSON.stringify({ missing, version: process.version }))`
      const out = JSON.parse(sh(rt().node, ['--input-type=module', '-e', script], app).trim()) as {
        missing: string[]
        version: string
      }
      assert.deepEqual(out.missing, [])
      assert.equal(out.version, runtime === 0 ? process.version : `v${FLOOR}`)
    })

    test('lifeline serve, publish, tail, bench and doctor work against each other', async () => {
      const bin = join(app, 'node_modules', 'lifeline-hub', 'dist', 'cli', 'main.js')
      assert.match(sh(rt().node, [bin, '--version'], app), /^0\.\d+\.\d+/)
      const port = await freePort()
      const url = `http://127.0.0.1:${port}`
      const serve = start(
        rt().node,
        [bin, 'serve', '--port', String(port), '--shutdown-timeout', '2s', '--heartbeat', '300ms'],
        app,
      )
      try {
        await serve.waitFor(new RegExp(`127\\.0\\.0\\.1:${port}`), 30_000)
        const tail = start(rt().node, [bin, 'tail', '--url', url, '--topic', 'cli'], app)
        await tail.waitFor(/open/, 20_000)
        const published = sh(
          rt().node,
          [bin, 'publish', '--url', url, '--topic', 'cli', '--data', 'hello'],
          app,
        )
        assert.match(published, /\S/)
        await tail.waitFor(/"data":"hello"/, 20_000)
        assert.equal(await stop(tail, 5_000), 0)
        const bench = sh(
          rt().node,
          [
            bin,
            'bench',
            `${url}/events?topic=bench`,
            '--connections',
            '20',
            '--duration',
            '2s',
            '--rate',
            '5',
            '--publish-url',
            `${url}/publish`,
            '--json',
            '--quiet',
          ],
          app,
          60_000,
        )
        const report = JSON.parse(bench) as Record<string, unknown>
        assert.ok(report, 'bench printed a report')
        const doctor = sh(rt().node, [bin, 'doctor', `${url}/events`, '--watch', '2s'], app, 60_000)
        assert.match(doctor, /ok: no check failed/)
      } finally {
        assert.equal(await stop(serve, 10_000), 0, serve.output())
      }
    })

    for (const example of ['node-http', 'express', 'fastify', 'hono']) {
      test(`examples/${example}.ts: publish, stream, resume, a JSON 4xx for bad input, exit on SIGTERM`, async () => {
        const port = await freePort()
        const base = `http://127.0.0.1:${port}`
        const proc = start(rt().node, [...rt().tsFlags, `${example}.ts`], app, { PORT: String(port) })
        try {
          await waitForPort(base, proc)
          const publish = (topic: string | undefined, data: string) =>
            example === 'node-http'
              ? fetch(`${base}/publish${topic ? `?topic=${topic}` : ''}`, { method: 'POST', body: data })
              : fetch(`${base}/publish`, {
                  method: 'POST',
                  headers: { 'content-type': 'application/json' },
                  body: JSON.stringify(topic ? { topic, data } : { data }),
                })
          const first = await (await publish('news', 'one')).json()
          const reading = readEvents(`${base}/events?topic=news`, 1, 15_000)
          await new Promise((r) => setTimeout(r, 300))
          assert.equal((await publish('news', 'two')).status, 201)
          const live = await reading
          assert.deepEqual(
            live.map((e) => e.data),
            ['two'],
          )
          const resumed = await readEvents(`${base}/events?topic=news`, 1, 15_000, {
            'last-event-id': (first as { id: string }).id,
          })
          assert.deepEqual(
            resumed.map((e) => e.data),
            ['two'],
          )
          // Bad input: no topic, a bad topic, a reserved event name through the hub. 4xx JSON, never a crash.
          for (const [topic, why] of [
            [undefined, 'no topic'],
            ['bad topic!', 'bad topic'],
          ] as const) {
            const res = await publish(topic, 'x')
            assert.ok(res.status >= 400 && res.status < 500, `${why}: ${res.status}`)
            const body = (await res.json()) as { error?: string }
            assert.equal(typeof body.error, 'string', why)
          }
          const badSub = await fetch(`${base}/events?topic=${encodeURIComponent('bad topic!')}`)
          assert.equal(badSub.status, 400)
          assert.equal(((await badSub.json()) as { error: string }).error, 'bad_topic')
          assert.equal(proc.child.exitCode, null, 'still running after bad input')
          // A stream open at SIGTERM gets its end; the process exits by itself within the shutdown timeout.
          const open = readEvents(`${base}/events?topic=news`, 1, 20_000)
          await new Promise((r) => setTimeout(r, 300))
          const code = await stop(proc, 15_000)
          assert.equal(code, 0, proc.output())
          assert.deepEqual(await open, [])
        } finally {
          if (proc.child.exitCode === null) proc.child.kill('SIGKILL')
        }
      })
    }

    test('examples/http2.ts: a stream over HTTP/2 TLS, exit on SIGTERM', async () => {
      const port = await freePort()
      const keys = join(dir, 'keys')
      mkdirSync(keys, { recursive: true })
      sh(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          join(keys, 'key.pem'),
          '-out',
          join(keys, 'cert.pem'),
          '-subj',
          '/CN=localhost',
          '-days',
          '1',
        ],
        keys,
      )
      const proc = start(
        rt().node,
        [...rt().tsFlags, 'http2.ts', join(keys, 'key.pem'), join(keys, 'cert.pem')],
        app,
        {
          PORT: String(port),
        },
      )
      try {
        await proc.waitFor(/listening/, 30_000)
        const got = await new Promise<string>((resolvePromise, reject) => {
          const req = httpsRequest(
            { host: '127.0.0.1', port, path: '/events?topic=news', rejectUnauthorized: false },
            (res) => {
              let text = ''
              res.setEncoding('utf8')
              res.on('data', (chunk: string) => {
                text += chunk
                if (/data: /.test(text)) {
                  req.destroy()
                  resolvePromise(text)
                }
              })
            },
          )
          req.on('error', reject)
          req.setTimeout(15_000, () => reject(new Error('no event over TLS within 15 s')))
          req.end()
        })
        assert.match(got, /data: \d{4}-/)
        assert.equal(await stop(proc, 15_000), 0, proc.output())
      } finally {
        if (proc.child.exitCode === null) proc.child.kill('SIGKILL')
      }
    })
  })
}

/** Polls until the example answers HTTP (it prints nothing in common when ready). */
async function waitForPort(base: string, proc: Proc): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`exited ${proc.child.exitCode}:\n${proc.output()}`)
    try {
      await fetch(`${base}/nothing-here`)
      return
    } catch {
      if (Date.now() > deadline) throw new Error(`not listening within 30 s:\n${proc.output()}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

test('the README quickstart is examples/node-http.ts, so the test above runs what users paste', () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8')
  const example = readFileSync(join(REPO, 'examples', 'node-http.ts'), 'utf8')
  const code = example.slice(example.indexOf("import { createServer } from 'node:http'")).trim()
  assert.ok(readme.includes(code), 'README "server library in 30 seconds" differs from examples/node-http.ts')
})
