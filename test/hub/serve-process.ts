/**
 * Test helpers for the hub: start the real `lifeline serve` process (packages/lifeline-hub/src/cli/main.ts) on a free port,
 * wait for its ready log line, read its JSON logs; open SSE streams over real TCP and await events.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { fileURLToPath } from 'node:url'
import { EventStreamParser } from '../../packages/lifeline-sse/src/protocol/index.ts'
import type { ParsedEvent } from '../../packages/lifeline-sse/src/protocol/types.ts'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const MAIN = 'packages/lifeline-hub/src/cli/main.ts'
const READY_MS = 30_000

export interface LogLine {
  level: number
  msg: string
  [key: string]: unknown
}

export interface ServeProcess {
  readonly url: string
  readonly child: ChildProcess
  readonly logs: LogLine[]
  stderr(): string
  /** Resolves with the first log line (past or future) that matches. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
  readonly exited: Promise<number | null>
}

/** Runs `lifeline <args>` to completion (writing `stdin` to it when given): exit code, stdout, stderr. */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 20_000,
  stdin?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  })
  if (stdin !== undefined) child.stdin!.end(stdin)
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c))
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c))
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const [code] = (await once(child, 'exit')) as [number | null]
  clearTimeout(timer)
  return { code, stdout, stderr }
}

export async function startServe(
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<ServeProcess> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, LIFELINE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: LogLine[] = []
  const waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = []
  let stderr = ''
  let buffer = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk
    let nl = buffer.indexOf('\n')
    while (nl >= 0) {
      const text = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      nl = buffer.indexOf('\n')
      let line: LogLine
      try {
        line = JSON.parse(text) as LogLine
      } catch {
        continue
      }
      logs.push(line)
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i]!
        if (w.match(line)) {
          waiters.splice(i, 1)
          w.resolve(line)
        }
      }
    }
  })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const waitForLog = (match: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> => {
    const seen = logs.find(match)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching log line in ${timeoutMs} ms; stderr: ${stderr.slice(-500)}`)),
        timeoutMs,
      )
      waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer)
          resolve(l)
        },
      })
    })
  }
  const ready = waitForLog(
    (l) => typeof l['url'] === 'string' && l.msg.startsWith('lifeline hub listening'),
    READY_MS,
  )
  const line = await Promise.race([
    ready,
    exited.then((code) => {
      throw new Error(`lifeline serve exited (${code}) before it was ready: ${stderr}`)
    }),
  ])
  return {
    url: line['url'] as string,
    child,
    logs,
    stderr: () => stderr,
    waitForLog,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}

/** An open SSE response read with the protocol parser. */
export interface SseStream {
  readonly res: IncomingMessage
  readonly events: ParsedEvent[]
  readonly comments: string[]
  readonly retries: number[]
  /** Resolves when the response ends (cleanly) or errors. */
  readonly ended: Promise<'end' | 'error'>
  waitFor(count: number, timeoutMs?: number): Promise<ParsedEvent[]>
  close(): void
}

export interface Answer {
  status: number
  headers: IncomingMessage['headers']
  body: string
  json(): Record<string, unknown>
}

/** One plain HTTP request (a new connection each time, so nothing leaks between tests). */
export function http(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (c: string) => (body += c))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

export function publish(base: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return http(`${base}/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
}

/** Opens `GET path` and resolves once the 200 head arrived (rejects on another status). */
export function openStream(
  base: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${base}${path}`,
      { headers: { accept: 'text/event-stream', ...headers }, agent: false },
      (res) => {
        if (res.statusCode !== 200) {
          let body = ''
          res.setEncoding('utf8').on('data', (c: string) => (body += c))
          res.on('end', () => reject(new Error(`stream answered ${res.statusCode}: ${body}`)))
          return
        }
        const events: ParsedEvent[] = []
        const comments: string[] = []
        const retries: number[] = []
        const waiters: { count: number; resolve: () => void }[] = []
        const parser = new EventStreamParser({
          onEvent: (e) => {
            events.push(e)
            for (let i = waiters.length - 1; i >= 0; i--) {
              if (events.length >= waiters[i]!.count) waiters.splice(i, 1)[0]!.resolve()
            }
          },
          onComment: (c) => comments.push(c),
          onRetry: (ms) => retries.push(ms),
        })
        res.on('data', (chunk: Buffer) => parser.push(chunk))
        const ended = new Promise<'end' | 'error'>((done) => {
          res.once('end', () => done('end'))
          res.once('error', () => done('error'))
          res.once('aborted', () => done('error'))
        })
        resolve({
          res,
          events,
          comments,
          retries,
          ended,
          waitFor(count, timeoutMs = 10_000) {
            if (events.length >= count) return Promise.resolve(events)
            return new Promise((ok, fail) => {
              const timer = setTimeout(
                () => fail(new Error(`only ${events.length} of ${count} events in ${timeoutMs} ms`)),
                timeoutMs,
              )
              waiters.push({
                count,
                resolve: () => {
                  clearTimeout(timer)
                  ok(events)
                },
              })
            })
          },
          close() {
            req.destroy()
          },
        })
      },
    )
    req.on('error', reject)
    req.end()
  })
}

/** Polls `/metrics` until `name{labels}` reaches `expected` (metrics are read on scrape). */
export async function metricValue(
  base: string,
  series: string,
  headers: Record<string, string> = {},
): Promise<number | undefined> {
  const { body } = await http(`${base}/metrics`, { headers })
  for (const line of body.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1))
  }
  return undefined
}

export async function waitForMetric(
  base: string,
  series: string,
  expected: number,
  timeoutMs = 10_000,
  mode: 'exactly' | 'at least' = 'exactly',
  /** With auth on, /metrics needs an admin token (docs/hub.md, Browser guards). */
  headers: Record<string, string> = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last: number | undefined
  while (Date.now() < deadline) {
    last = await metricValue(base, series, headers)
    if (last !== undefined && (mode === 'exactly' ? last === expected : last >= expected)) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${series} is ${last}, expected ${mode} ${expected}`)
}
