/**
 * Real reverse proxies (Debian's nginx, HAProxy, Caddy) and real hub processes for the proxy tests.
 * Each proxy runs as its own process with the SHIPPED template from deploy/ rendered by
 * deploy/render.sh (the tested file is the shipped file), its own pid/log/temp files in a temp dir,
 * on a free 127.0.0.1 port. The system services are never touched. `close()` kills what was started.
 *
 *   const hub = await startHub(['--heartbeat', '500ms', '--trust-proxy', '127.0.0.1'])
 *   t.after(() => hub.close())
 *   const nginx = await startNginx({ upstreams: [hub.address], vars: { READ_TIMEOUT: '2s' } })
 *   t.after(() => nginx.close())
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openProbe, type Probe } from '../../packages/lifeline-hub/src/doctor/probe.ts'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const START_TIMEOUT_MS = 15_000
const STOP_GRACE_MS = 3_000

export type Tool = 'nginx' | 'haproxy' | 'caddy' | 'promtool'
const PACKAGE: Record<Tool, string> = {
  nginx: 'nginx',
  haproxy: 'haproxy',
  caddy: 'caddy',
  promtool: 'prometheus',
}

function findBinary(tool: Tool): string | undefined {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/bin', '/usr/local/sbin']) {
    const path = join(dir, tool)
    if (existsSync(path)) return path
  }
  return undefined
}

/**
 * The tool's path. Missing: runs scripts/ensure-proxies.sh once (apt-get as root, serialised by a lock
 * across test files); still missing: throws with the command to install it. Never skips.
 */
export function ensureTool(tool: Tool): string {
  let path = findBinary(tool)
  if (path) return path
  spawnSync('flock', ['/tmp/lifeline-apt.lock', 'bash', join(ROOT, 'scripts/ensure-proxies.sh')], {
    stdio: 'inherit',
    timeout: 300_000,
  })
  path = findBinary(tool)
  if (path) return path
  throw new Error(
    `${tool} is not installed: run \`bash scripts/ensure-proxies.sh\` as root, or \`sudo apt-get install -y --no-install-recommends ${PACKAGE[tool]}\``,
  )
}

/**
 * Renders deploy/<template> with deploy/render.sh. `edits` are exact text replacements applied after
 * rendering (negative controls flip one setting); each must match, so a control cannot go stale silently.
 */
export function renderTemplate(
  template: string,
  vars: Record<string, string>,
  edits: ReadonlyArray<readonly [string, string]> = [],
): string {
  let text = execFileSync(
    'sh',
    [
      join(ROOT, 'deploy/render.sh'),
      join(ROOT, 'deploy', template),
      ...Object.entries(vars).map(([k, v]) => `${k}=${v}`),
    ],
    { encoding: 'utf8' },
  )
  for (const [from, to] of edits) {
    if (!text.includes(from)) throw new Error(`edit for ${template}: "${from}" is not in the rendered file`)
    text = text.replaceAll(from, to)
  }
  return text
}

export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  server.close()
  await once(server, 'close')
  return port
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** A started process: resolves once `ready()` holds; rejects (with its log) if it exits first. */
async function waitReady(
  child: ChildProcess,
  ready: () => Promise<boolean>,
  what: string,
  log: () => Promise<string>,
) {
  const deadline = Date.now() + START_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${what} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${await log()}`,
      )
    }
    if (await ready()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${what} not ready within ${START_TIMEOUT_MS} ms:\n${await log()}`)
}

/** SIGTERM the process group (a proxy's master and its workers), SIGKILL after a grace period. */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  const exited = once(child, 'exit')
  try {
    process.kill(-child.pid, 'SIGTERM')
  } catch {
    return
  }
  const timer = setTimeout(() => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }, STOP_GRACE_MS)
  await exited
  clearTimeout(timer)
}

export interface RunningProxy {
  readonly kind: 'nginx' | 'haproxy' | 'caddy'
  /** The process started (nginx: its master; its workers are its children). */
  readonly pid: number
  readonly port: number
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** The rendered config it runs. */
  readonly config: string
  /** Its error/stderr log so far. */
  log(): Promise<string>
  close(): Promise<void>
}

export interface ProxyOptions {
  /** Hub addresses `host:port`. */
  upstreams: readonly string[]
  /** Template placeholders beyond UPSTREAMS and LISTEN (e.g. READ_TIMEOUT). */
  vars?: Record<string, string>
  /** Exact replacements in the rendered config (negative controls). */
  edits?: ReadonlyArray<readonly [string, string]>
  /** nginx `worker_connections` of the test's main config (benchmarks open thousands). @default 1024 */
  workerConnections?: number
}

async function launch(
  kind: RunningProxy['kind'],
  dir: string,
  port: number,
  config: string,
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<RunningProxy> {
  const logPath = join(dir, 'stderr.log')
  const child = spawn(command, args, {
    cwd: dir,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  })
  let stderr = ''
  child.stderr?.on('data', (chunk) => {
    if (stderr.length < 65_536) stderr += chunk
  })
  child.unref()
  const log = async (): Promise<string> => {
    const file = await readFile(logPath, 'utf8').catch(() => '')
    return `${file}${stderr}`
  }
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    await stopGroup(child)
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await waitReady(child, () => canConnect(port), `${kind} on port ${port}`, log)
  } catch (error) {
    await close()
    throw error
  }
  return { kind, pid: child.pid ?? 0, port, url: `http://127.0.0.1:${port}`, config, log, close }
}

/**
 * nginx with deploy/nginx.conf (an http{}-level file) included from a minimal main config that only
 * sets what a test run needs: foreground, its own pid, logs and temp paths.
 */
export async function startNginx(options: ProxyOptions): Promise<RunningProxy> {
  const nginx = ensureTool('nginx')
  const dir = await mkdtemp(join(tmpdir(), 'lifeline-nginx-'))
  const port = await freePort()
  const config = renderTemplate(
    'nginx.conf',
    { UPSTREAMS: options.upstreams.join(' '), LISTEN: `127.0.0.1:${port}`, ...options.vars },
    options.edits,
  )
  await writeFile(join(dir, 'lifeline.conf'), config)
  const main = [
    'daemon off;',
    'worker_processes 1;',
    // Workers run as the user starting the test (root in CI): they must read this temp dir.
    ...(process.getuid?.() === 0 ? ['user root;'] : []),
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/stderr.log info;`,
    `events { worker_connections ${options.workerConnections ?? 1024}; }`,
    'http {',
    `  access_log ${dir}/access.log;`,
    `  client_body_temp_path ${dir}/body;`,
    `  proxy_temp_path ${dir}/proxy;`,
    `  fastcgi_temp_path ${dir}/fastcgi;`,
    `  uwsgi_temp_path ${dir}/uwsgi;`,
    `  scgi_temp_path ${dir}/scgi;`,
    `  include ${dir}/lifeline.conf;`,
    '}',
    '',
  ].join('\n')
  await writeFile(join(dir, 'nginx.conf'), main)
  return launch('nginx', dir, port, config, nginx, [
    '-p',
    dir,
    '-c',
    join(dir, 'nginx.conf'),
    '-e',
    join(dir, 'stderr.log'),
  ])
}

/** HAProxy with the complete deploy/haproxy.cfg, in the foreground (-db). */
export async function startHaproxy(options: ProxyOptions): Promise<RunningProxy> {
  const haproxy = ensureTool('haproxy')
  const dir = await mkdtemp(join(tmpdir(), 'lifeline-haproxy-'))
  const port = await freePort()
  const config = renderTemplate(
    'haproxy.cfg',
    { UPSTREAMS: options.upstreams.join(' '), LISTEN: `127.0.0.1:${port}`, MAXCONN: '4096', ...options.vars },
    options.edits,
  )
  await writeFile(join(dir, 'haproxy.cfg'), config)
  return launch('haproxy', dir, port, config, haproxy, ['-db', '-f', join(dir, 'haproxy.cfg')])
}

/** Caddy with the complete deploy/Caddyfile, admin endpoint off, data and config dirs in the temp dir. */
export async function startCaddy(options: ProxyOptions): Promise<RunningProxy> {
  const caddy = ensureTool('caddy')
  const dir = await mkdtemp(join(tmpdir(), 'lifeline-caddy-'))
  const port = await freePort()
  const config = renderTemplate(
    'Caddyfile',
    {
      UPSTREAMS: options.upstreams.join(' '),
      SITE: `http://127.0.0.1:${port}`,
      ADMIN: 'off',
      ...options.vars,
    },
    options.edits,
  )
  await writeFile(join(dir, 'Caddyfile'), config)
  return launch(
    'caddy',
    dir,
    port,
    config,
    caddy,
    ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'],
    { HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') },
  )
}

export interface RunningHub {
  readonly pid: number
  readonly port: number
  /** `127.0.0.1:<port>`, for a proxy's upstream list. */
  readonly address: string
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  log(): string
  /** SIGTERM (graceful drain), SIGKILL after a grace period. Safe to call twice. */
  close(): Promise<void>
}

/** A real `lifeline serve` process on a free port; resolves once /healthz answers. */
export async function startHub(args: readonly string[] = [], port?: number): Promise<RunningHub> {
  const hubPort = port ?? (await freePort())
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'packages/lifeline-hub/src/cli/main.ts'),
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(hubPort),
      '--log-level',
      'warn',
      ...args,
    ],
    {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LIFELINE_JWT_SECRET: '' },
    },
  )
  let output = ''
  const keep = (chunk: Buffer): void => {
    if (output.length < 65_536) output += chunk.toString('utf8')
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const url = `http://127.0.0.1:${hubPort}`
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    await stopGroup(child)
  }
  try {
    await waitReady(
      child,
      async () => {
        try {
          const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) })
          await res.body?.cancel()
          return res.ok
        } catch {
          return false
        }
      },
      `hub on port ${hubPort}`,
      async () => output,
    )
  } catch (error) {
    await close()
    throw error
  }
  return {
    pid: child.pid ?? 0,
    port: hubPort,
    address: `127.0.0.1:${hubPort}`,
    url,
    log: () => output,
    close,
  }
}

/** POST /publish; resolves with the event id. */
export async function publish(baseUrl: string, topic: string, data: string, event?: string): Promise<string> {
  const res = await fetch(`${baseUrl}/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ topic, data, ...(event ? { event } : {}) }),
    signal: AbortSignal.timeout(5_000),
  })
  const text = await res.text()
  if (res.status !== 201) throw new Error(`publish via ${baseUrl} answered ${res.status}: ${text}`)
  return (JSON.parse(text) as { id: string }).id
}

type AfterHook = { after: (fn: () => Promise<void> | void) => void }

/** Opens a stream (closed in t.after); `localAddress` 127.0.0.x makes it look like another client. */
export async function openStream(
  t: AfterHook,
  url: string,
  headers: Record<string, string> = {},
  localAddress?: string,
): Promise<Probe> {
  const probe = await openProbe(url, { headers, ...(localAddress ? { localAddress } : {}) })
  t.after(() => probe.close())
  return probe
}

/** Publishes straight to `hubUrl` and resolves with ms until the event is read on `probe` (undefined: not within waitMs). */
export async function deliveryMs(
  probe: Probe,
  hubUrl: string,
  topic: string,
  data: string,
  waitMs: number,
): Promise<number | undefined> {
  const before = probe.events.length
  const sentAt = probe.now()
  await publish(hubUrl, topic, data)
  const event = await probe.waitForEvent((e) => e.data === data, waitMs, before).catch(() => undefined)
  return event ? event.at - sentAt : undefined
}

export interface ConnectionRow {
  remoteAddress: string
  topics: string[]
}

/** GET /api/connections of one hub (auth off). */
export async function connections(hubUrl: string): Promise<ConnectionRow[]> {
  const res = await fetch(`${hubUrl}/api/connections`, { signal: AbortSignal.timeout(5_000) })
  const body = (await res.json()) as ConnectionRow[] | { connections: ConnectionRow[] }
  return Array.isArray(body) ? body : body.connections
}

/** Open streams of `topic` on one hub. */
export async function streamsOn(hubUrl: string, topic: string): Promise<number> {
  return (await connections(hubUrl)).filter((c) => c.topics.includes(topic)).length
}

/**
 * How long the proxy holds events: `count` events published one after another to the hub, each read
 * on a stream straight from the hub (`direct`) and on one through the proxy (`proxied`); the delay the
 * proxy adds is the arrival through the proxy minus the arrival straight from the hub. Resolves with
 * the median of those (and the samples, and the publish -> arrival times through the proxy). Measured
 * against the direct stream, a loaded CI machine's scheduling delays of the hub and the publisher
 * cancel out; the median keeps one hiccup of the proxy process from failing the bound, while a proxy
 * that holds events (buffering, MSG_MORE) delays every one.
 */
export async function medianAddedDelayMs(
  proxied: Probe,
  direct: Probe,
  hubUrl: string,
  topic: string,
  count = 5,
): Promise<{ median: number; added: number[]; endToEnd: number[] }> {
  const added: number[] = []
  const endToEnd: number[] = []
  for (let i = 0; i < count; i++) {
    const data = `sample-${i}-${Date.now()}`
    const fromProxied = proxied.events.length
    const fromDirect = direct.events.length
    const sentAt = performance.now()
    await publish(hubUrl, topic, data)
    const [viaProxy, straight] = await Promise.all([
      proxied.waitForEvent((e) => e.data === data, 5_000, fromProxied),
      direct.waitForEvent((e) => e.data === data, 5_000, fromDirect),
    ])
    const proxiedAt = proxied.startedAt + viaProxy.at
    added.push(Math.round(proxiedAt - (direct.startedAt + straight.at)))
    endToEnd.push(Math.round(proxiedAt - sentAt))
  }
  const sorted = [...added].sort((a, b) => a - b)
  return { median: sorted[Math.floor(count / 2)] as number, added, endToEnd }
}
